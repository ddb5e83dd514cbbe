// README: Results as they arrive | import { experimental_streamedQuery as streamedQuery } from '@tanstack/query-core'; // re-exported by @tanstack/react-query, vue-query, ...
// The README's TanStack Query example, type-checked against @tanstack/query-core's own
// types: composeStream() is a `streamFn`, and the query's data is the parts so far.
import { QueryClient, QueryObserver, experimental_streamedQuery as streamedQuery } from '@tanstack/query-core'; // re-exported by @tanstack/react-query, vue-query, ...
import { composeStream, type ComposePart, type Plan } from 'parallel-composer';

declare const dashboardPlan: Plan;

const dashboardQuery = (userId: string) => ({
  queryKey: ['dashboard', userId],
  queryFn: streamedQuery({
    streamFn: ({ signal }) => composeStream(dashboardPlan, { id: userId }, { signal }),
  }),
}); // useQuery(dashboardQuery('u1')).data: the parts so far

const observer = new QueryObserver(new QueryClient(), dashboardQuery('u1'));
const parts: ComposePart[] | undefined = observer.getCurrentResult().data;
export { parts };
