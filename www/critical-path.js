// The critical path of a finished run: the chain of calls whose ends set the total time.
//
// It is read from the run's own call records, walking back from the call that ended last:
// each step goes to the call whose end let the current one start. What "let it start"
// means depends on the schedule:
//   eager       the dependency that ended last (a call starts when its last input arrives);
//   stages      the call of the previous stage that ended last (the stage barrier), which
//               need not be a dependency at all: that is the time stages loses;
//   sequential  the call that ended last before it started (one call at a time).
// Making any call on the path faster makes the run faster; the others had slack.

const timed = (record) => record && record.startMs !== null && record.startMs !== undefined && record.endMs !== null && record.endMs !== undefined;

/**
 * The critical path as call names, first call first; [] when no call ran.
 * calls: { name: { startMs, endMs } }; deps: { name: [names] }; stages: [[names]].
 */
export function criticalPath(calls, { deps = {}, stages = [], schedule = 'eager' } = {}) {
  const names = Object.keys(calls ?? {}).filter((name) => timed(calls[name]));
  if (names.length === 0) return [];
  const lastEnding = (candidates) => candidates
    .filter((name) => timed(calls[name]))
    .reduce((best, name) => (best === null || calls[name].endMs > calls[best].endMs ? name : best), null);
  const stageOf = new Map(stages.flatMap((stage, i) => stage.map((name) => [name, i])));

  const path = [lastEnding(names)];
  for (;;) {
    const current = path[path.length - 1];
    const start = calls[current].startMs;
    let candidates;
    if (schedule === 'sequential') {
      // Half a millisecond of slack: the records' times are rounded to 0.1 ms or so.
      candidates = names.filter((name) => name !== current && calls[name].endMs <= start + 0.5);
    } else if (schedule === 'stages' && stageOf.has(current)) {
      candidates = stages[stageOf.get(current) - 1] ?? [];
    } else {
      candidates = deps[current] ?? [];
    }
    const previous = lastEnding(candidates.filter((name) => !path.includes(name)));
    if (previous === null) break;
    path.push(previous);
  }
  return path.reverse();
}
