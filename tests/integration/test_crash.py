#!/usr/bin/env python3
"""kill -9 at random moments: never a duplicate, never a lost submission."""
import collections
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, run, unix_job, wait_until  # noqa: E402

N_JOBS = 40
KILLS = 25


def test_kill9_loop(work):
    seed = int(os.environ.get("BC_SEED", str(int(time.time()))))
    rnd = random.Random(seed)
    print("seed %d (BC_SEED=%d reproduces the kill moments)" % (seed, seed), flush=True)
    with Env(work, request_timeout=1) as env:
        start = int(time.time()) + 2
        for i in range(N_JOBS):
            env.d.write_job("crash-%02d" % i, unix_job(start + i // 4, ("+15550100011", "+15550100016")))
        # Widen the windows where a kill hurts: slow answers, answers lost
        # after the batch was created.
        env.sim.fault(endpoint="submit", kind="delay", delay_ms=700, count=-1, probability=0.3)
        env.sim.fault(endpoint="submit", kind="apply_then_500", count=-1, probability=0.2)
        env.sim.fault(endpoint="submit", kind="apply_then_drop", count=-1, probability=0.1)
        env.sim.fault(endpoint="submit", kind="drop", count=-1, probability=0.1)
        env.d.start()
        for _ in range(KILLS):
            # Not synchronisation: a random moment to pull the plug.
            time.sleep(rnd.uniform(0.02, 0.45))
            env.d.kill9()
            env.d.start()
        env.sim.clear_faults()
        done = ("pending", "in_progress", "completed", "retry_wait", "failed")

        def all_settled():
            return all((env.d.run_state("crash-%02d" % i) or {}).get("state") in done for i in range(N_JOBS))
        wait_until(all_settled, 90, "every job submitted")
        names = collections.Counter(b["name"].split(" ")[0] for b in env.sim.batches())
        dup = {k: v for k, v in names.items() if v > 1}
        lost = [("crash-%02d" % i) for i in range(N_JOBS) if names.get("crash-%02d" % i, 0) == 0]
        assert not dup, "duplicates (seed %d): %s" % (seed, dup)
        assert not lost, "lost (seed %d): %s" % (seed, lost)
        for i in range(N_JOBS):
            st = env.d.run_state("crash-%02d" % i)
            assert st["batch_id"] is not None
        adopted = env.d.log().count("adopted batch")
        print("%d kills, %d submit requests, %d batches, %d adopted after a crash or an unknown answer" %
              (KILLS, len(env.sim.requests("submit")), sum(names.values()), adopted), flush=True)
        env.d.stop()


if __name__ == "__main__":
    run([test_kill9_loop])
