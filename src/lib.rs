//! parallel-composer
