//! The ten services of the order flow and where they live: one base URL each, from
//! `options.services` or a gateway's `options.baseUrl`, checked against
//! `options.allowedOrigins` before anything is sent.

use crate::error::{Error, ErrorKind};
use crate::plan::template::origin_of;

/// The services of the order flow, in plan order.
pub const SERVICES: [&str; 10] = [
    "customer",
    "cart",
    "inventory",
    "pricing",
    "shipping",
    "fraud",
    "tax",
    "payment",
    "order",
    "notification",
];

fn bad_input(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// Where each service lives: `services[name]`, else `${baseUrl}/${name}`.
pub fn service_urls(
    services: &[(String, String)],
    base_url: Option<&str>,
) -> Result<Vec<String>, Error> {
    if let Some((name, _)) = services
        .iter()
        .find(|(n, _)| !SERVICES.contains(&n.as_str()))
    {
        return Err(bad_input(format!(
            "options.services.{name} is not a service of the order flow; expected {}",
            SERVICES.join(", ")
        )));
    }
    // A loop rather than `collect::<Result<Vec<_>, _>>()`, whose adapter is compiled
    // anew for every iterator it collects.
    let mut urls = Vec::with_capacity(SERVICES.len());
    for name in SERVICES {
        let url = match services.iter().find(|(n, _)| n == name) {
            Some((_, url)) => base(Some(name), url)?,
            None => match base_url {
                Some(gateway) => format!("{}/{name}", base(None, gateway)?),
                None => {
                    return Err(bad_input(format!(
                    "no URL for service `{name}`: set options.services.{name} or options.baseUrl"
                )))
                }
            },
        };
        urls.push(url);
    }
    Ok(urls)
}

/// `url` as a base URL without its trailing slashes: absolute http(s), with a host, and no
/// query or fragment for a path to be appended after. It is `options.services[service]`,
/// or `options.baseUrl` for `None`, which the message names.
fn base(service: Option<&str>, url: &str) -> Result<String, Error> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !url.contains(['?', '#']) => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => {
            // The option's name, and its last part as the example's path.
            let (at, example) = match service {
                Some(name) => (format!("options.services.{name}"), name),
                None => ("options.baseUrl".to_owned(), "baseUrl"),
            };
            Err(bad_input(format!(
                "{at} must be an absolute http(s) URL without query or fragment, such as \"https://api.example/{example}\"; got \"{url}\""
            )))
        }
    }
}

/// Checks that every service's URL (from [`service_urls`], in [`SERVICES`] order) is on
/// one of the `allowed` origins; `services` says which came from `options.services` (the
/// rest came from `options.baseUrl`). Fails with `INVALID_INPUT` naming the service, its
/// origin and the option to change.
pub fn check_origins(
    urls: &[String],
    services: &[(String, String)],
    allowed: &[String],
) -> Result<(), Error> {
    for (name, url) in SERVICES.iter().zip(urls) {
        let origin = origin_of(url).unwrap_or_default();
        if !allowed.contains(&origin) {
            let option = if services.iter().any(|(n, _)| n == name) {
                format!("options.services.{name}")
            } else {
                "options.baseUrl".to_owned()
            };
            return Err(bad_input(format!(
                "service `{name}` is at {origin} ({option}), which is not in options.allowedOrigins ({}); \
                 add it there, or change {option}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::plan::plan;

    #[test]
    fn service_urls_from_services_and_gateway() {
        let u = service_urls(
            &[("tax".into(), "http://tax.local/v2/".into())],
            Some("https://gw.example"),
        )
        .unwrap();
        assert_eq!(u[0], "https://gw.example/customer");
        assert_eq!(u[6], "http://tax.local/v2");
        let e = service_urls(&[("taxes".into(), "http://x".into())], None).unwrap_err();
        assert!(e
            .message()
            .starts_with("options.services.taxes is not a service"));
        let e = service_urls(&[], None).unwrap_err();
        assert_eq!(
            e.message(),
            "no URL for service `customer`: set options.services.customer or options.baseUrl"
        );
        let e = service_urls(&[("cart".into(), "ftp://x".into())], Some("https://gw")).unwrap_err();
        assert!(e
            .message()
            .starts_with("options.services.cart must be an absolute http(s) URL"));
        let e = service_urls(&[("cart".into(), "ftp://x".into())], Some("https://gw")).unwrap_err();
        assert_eq!(
            e.message(),
            "options.services.cart must be an absolute http(s) URL without query or fragment, \
             such as \"https://api.example/cart\"; got \"ftp://x\""
        );
        let e = service_urls(&[], Some("https://gw.example/?v=1")).unwrap_err();
        assert_eq!(
            e.message(),
            "options.baseUrl must be an absolute http(s) URL without query or fragment, \
             such as \"https://api.example/baseUrl\"; got \"https://gw.example/?v=1\""
        );
        // Braces in a base URL stay literal.
        let u = service_urls(&[], Some("https://gw.example/{v}")).unwrap();
        let p = plan(&u).unwrap();
        assert_eq!(
            p.calls()[0].url_source,
            "https://gw.example/{{v}}/customer/customers/{input.customerId}"
        );
    }

    #[test]
    fn services_must_be_on_allowed_origins() {
        let services = vec![("fraud".to_owned(), "https://fraud.internal/v2".to_owned())];
        let urls = service_urls(&services, Some("https://gateway.internal/api")).unwrap();
        let allowed = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_origins(
            &urls,
            &services,
            &allowed(&["https://gateway.internal", "https://fraud.internal"])
        )
        .is_ok());
        let e =
            check_origins(&urls, &services, &allowed(&["https://gateway.internal"])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            e.message(),
            "service `fraud` is at https://fraud.internal (options.services.fraud), which is not in \
             options.allowedOrigins (https://gateway.internal); add it there, or change options.services.fraud"
        );
        let e = check_origins(&urls, &services, &allowed(&["https://fraud.internal"])).unwrap_err();
        assert!(e.message().starts_with(
            "service `customer` is at https://gateway.internal (options.baseUrl), which is not in"
        ));
    }
}
