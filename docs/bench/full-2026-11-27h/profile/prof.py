#!/usr/bin/env python3
"""Boot kernel images in turn and run a guest script in each, with the bench's settings.

    prof.py BOOTS NAME=IMAGE[,NAME=IMAGE...] OUT [SCRIPT]

Each of BOOTS rounds boots every image once (in the order given) under TCG with 2 vCPUs and
2 GiB, the kernel command line of `pytools bench`, and runs `sh SCRIPT` (default prof-rows.sh
beside this file; SCRIPT may carry arguments, as one word: "DIR/prof-rows.sh 2 300"); the
script's lines that start with RUN, TAIL or BENCH are appended to OUT, prefixed with the
image's NAME and the round. Run from the repository root.
"""
import sys
from pathlib import Path

sys.path.insert(0, ".")
from pytools import settings as sm  # noqa: E402
from pytools.bench import CLOCK_CHECK, host_tsc_khz  # noqa: E402
from pytools.runner import RealRunner  # noqa: E402
from pytools.vm import run_guest  # noqa: E402

boots = int(sys.argv[1])
imgs = dict(a.split("=", 1) for a in sys.argv[2].split(","))
script = sys.argv[4] if len(sys.argv) > 4 else str(Path(__file__).parent / "prof-rows.sh")
s = sm.load(cache=None, tree=None, config="minimal")
r = RealRunner()
append = ["kunit.enable=0", f"tsc_early_khz={host_tsc_khz()}", "tsc=reliable"]
with open(sys.argv[3], "a") as out:
    for b in range(boots):
        for name, img in imgs.items():
            run = run_guest(s, r, Path(img), f"{CLOCK_CHECK} && sh {script}", accel="tcg",
                            timeout=1200, cpus=2, memory="2G", append=append)
            for line in run.lines:
                if line.startswith(("RUN", "TAIL", "BENCH")):
                    out.write(f"{name} {b} {line}\n")
            out.flush()
            print(name, b, "done", flush=True)
