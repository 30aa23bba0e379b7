#!/usr/bin/env python3
"""onnxruntime (the Python wheel, one intra-op thread) as the engine benchmark's baseline.

The `inference` bench target of `haca-engine` starts this script and drives it over
stdin/stdout, one command a line, so that its rounds alternate with the executor path's in
the same run:

- `load MODEL INPUT OUTPUTS`: opens MODEL (all graph optimisations on, sequential execution),
  runs it once on the tensor in the .npy file INPUT, writes every output cast to float32 and
  flattened one after another to the .npy file OUTPUTS; answers `ok`.
- `round SECONDS RUNS`: runs the model on that input RUNS times, again and again until
  SECONDS have passed; answers the runs per second.

Any failure answers `error <message>`. Usage: scripts/onnxruntime_bench.py (no arguments).
"""
import sys
import time

import numpy as np
import onnxruntime


def session(model):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def main():
    run = None
    for line in sys.stdin:
        command, *args = line.split()
        try:
            if command == "load":
                model, input_path, outputs_path = args
                loaded = session(model)
                feed = {loaded.get_inputs()[0].name: np.load(input_path)}
                outputs = loaded.run(None, feed)
                flat = [np.asarray(output, dtype=np.float32).ravel() for output in outputs]
                np.save(outputs_path, np.concatenate(flat))
                run = lambda loaded=loaded, feed=feed: loaded.run(None, feed)
                answer = "ok"
            elif command == "round" and run is not None:
                seconds, runs = float(args[0]), int(args[1])
                done, start = 0, time.perf_counter()
                while done == 0 or time.perf_counter() - start < seconds:
                    for _ in range(runs):
                        run()
                    done += runs
                answer = f"{done / (time.perf_counter() - start)!r}"
            else:
                answer = f"error unknown command {command!r} (or no model loaded)"
        except Exception as error:  # every failure is answered, never fatal
            answer = "error " + " ".join(str(error).split())
        print(answer, flush=True)


if __name__ == "__main__":
    main()
