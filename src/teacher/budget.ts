/**
 * How many teacher calls an isolate may start per minute (TEACHER_MAX_PER_MINUTE): a sliding
 * window of the last minute's start times, so the bound holds over any 60 s, not per calendar
 * minute. Per isolate and per teacher, in memory: Workers runs many isolates, so the account-wide
 * rate is this times the isolates serving; it bounds a burst's cost, it is not a billing meter.
 */

const WINDOW_MS = 60_000;

/** A per-minute allowance of teacher calls. */
export interface TeacherBudget {
  /** Takes one call from the allowance; false (and nothing taken) when the last minute spent it. */
  take(now?: number): boolean;
}

/**
 * A budget of `perMinute` calls over any 60 s.
 * @param perMinute calls allowed per 60 s; 0 allows none
 * @example const budget = createTeacherBudget(2); budget.take(); budget.take(); budget.take() // false
 */
export function createTeacherBudget(perMinute: number): TeacherBudget {
  const starts: number[] = [];
  return {
    take(now = Date.now()) {
      while (starts.length > 0 && starts[0]! <= now - WINDOW_MS) starts.shift();
      if (starts.length >= perMinute) return false;
      starts.push(now);
      return true;
    },
  };
}

const budgets = new Map<string, TeacherBudget>();

/**
 * This isolate's budget for one teacher (its name) at one limit: created on first use and kept
 * for the isolate's life, so every request of the isolate draws from it.
 * @example isolateBudget('openai:https://guard.example/v1:llama-guard-3', 600).take()
 */
export function isolateBudget(teacher: string, perMinute: number): TeacherBudget {
  const key = `${teacher}\u0000${perMinute}`;
  let budget = budgets.get(key);
  if (!budget) {
    budget = createTeacherBudget(perMinute);
    budgets.set(key, budget);
  }
  return budget;
}
