"""SimPy baselines for the event engine benchmark (run by Benchmarks/EventBenchmark, same workloads).

(a) one process chaining 1,000,000 timeouts of delay 1;
(b) 1,000 lanes (simpy.Resource, capacity 1), each a process running 1,000 ops in a chain: request
    the lane, hold it for the op's duration (1 + (lane*7 + i) % 5), release.
Prints one line per workload: `name ops seconds`, the best of 3 runs.
"""
import sys
import time

import simpy


def chain(n):
    env = simpy.Environment()

    def proc(env):
        for _ in range(n):
            yield env.timeout(1)

    env.process(proc(env))
    start = time.perf_counter()
    env.run()
    return time.perf_counter() - start


def lanes(lane_count, ops):
    env = simpy.Environment()
    resources = [simpy.Resource(env, capacity=1) for _ in range(lane_count)]

    def proc(env, lane):
        resource = resources[lane]
        for i in range(ops):
            with resource.request() as request:
                yield request
                yield env.timeout(1 + (lane * 7 + i) % 5)

    for lane in range(lane_count):
        env.process(proc(env, lane))
    start = time.perf_counter()
    env.run()
    return time.perf_counter() - start


if __name__ == "__main__":
    print("simpy", simpy.__version__)
    print("chain", 1_000_000, min(chain(1_000_000) for _ in range(3)))
    print("lanes", 1_000 * 1_000, min(lanes(1_000, 1_000) for _ in range(3)))
    sys.stdout.flush()
