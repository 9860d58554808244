"""How many respondent messages the pure flow engine handles per second, on one core.

Runs complete surveys of all nine default flows through `flows.engine.start` / `resume` with
typical Chinese answers, over and over for about --seconds, and prints messages/s, µs per
message and per-flow figures. Goal: at least 20,000 messages/s.

    .venv/bin/python bench/engine.py               # about 5 s
    .venv/bin/python bench/engine.py --seconds 10 --json
    .venv/bin/python bench/engine.py --profile     # cProfile hot spots instead of figures

Only the engine is timed: the conversations (answers and timestamps) are prepared first, and
each run is checked to end where the prepared one did. A "message" is one respondent message
(one `resume`); the `start` of each survey is timed too but not counted. --json adds the state's JSON round trip
per message, as storing the session costs in production.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows import engine
from flows.events import AnswerRecorded
from flows.loader import default_flow_paths, load_flow
from flows.schema import Flow, Question

GOAL = 20_000  # messages per second
T0 = datetime(2026, 6, 1, tzinfo=UTC)

# What people type, per question type; each respondent style picks its own way to answer.
CONSENTS = ["好的", "可以", "嗯嗯", "1", "好的呀"]
OPINIONS = [
    "工作人员很耐心，就是等的时间有点长，希望以后能快一点。",
    "没有了，谢谢你们",
    "挺好的",
    "希望多组织一些培训活动，我们社区的老人都想学急救。",
]


def _choice(q: Question, style: int) -> str:
    n = len(q.options)
    pick = [0, 1, 0, n - 1, 2 % n][style % 5]
    form = style % 4
    if form == 0:
        return str(pick + 1)
    if form == 1:
        return "①②③④⑤⑥⑦⑧⑨⑩"[pick]
    if form == 2:
        return q.options[pick].label.zh
    return f"第{'一二三四五六七八九十'[pick]}个"


def _multi(q: Question, style: int) -> str:
    return ["一、三", "1、2", "①③", q.options[0].label.zh, "1 2"][style % 5]


def answer(q: Question, style: int) -> str:
    if q.type in ("single_choice", "rating"):
        return _choice(q, style)
    if q.type == "multi_choice":
        return _multi(q, style)
    if q.type == "yes_no":
        return ["是", "是的", "没有", "对"][style % 4]
    if q.type == "nps":
        return ["9", "八分", "10", "6"][style % 4]
    if q.type == "number":
        return ["3", "三", "5人"][style % 3]
    if q.type == "text":
        return OPINIONS[style % len(OPINIONS)]
    raise ValueError(f"no answer for {q.type}")


@dataclass(frozen=True)
class Script:
    """One respondent's whole survey, ready to replay."""

    flow: Flow
    messages: tuple[str, ...]
    times: tuple[datetime, ...]  # when each message arrives
    final_answers: dict[str, object]


def prepare(flow: Flow, style: int) -> Script:
    said = [CONSENTS[style % len(CONSENTS)]]
    now = T0 + timedelta(seconds=40)
    times = [now]
    step = engine.resume(flow, engine.start(flow, None, T0).state, said[0], now)
    while step.state["lifecycle"] == "active":
        q = flow.question(step.state["step"])
        text = answer(q, style)
        said.append(text)
        now += timedelta(seconds=40)
        times.append(now)
        step = engine.resume(flow, step.state, text, now)
        recorded = [e for e in step.events if isinstance(e, AnswerRecorded)]
        if not recorded or not recorded[0].parsed:
            raise SystemExit(f"{flow.id}: {text!r} not understood for {q.id}; fix the bench answers")
    if step.state["lifecycle"] != "completed":
        raise SystemExit(f"{flow.id}: style {style} ended {step.state['lifecycle']}")
    return Script(flow, tuple(said), tuple(times), step.state["answers"])


def replay(script: Script, with_json: bool) -> dict:
    flow, resume = script.flow, engine.resume
    state = engine.start(flow, None, T0).state
    for text, now in zip(script.messages, script.times, strict=True):
        state = resume(flow, state, text, now).state
        if with_json:
            state = json.loads(json.dumps(state, ensure_ascii=False))
    return state


def run(
    scripts: list[Script], seconds: float, with_json: bool
) -> tuple[int, float, float, dict[str, list[float]]]:
    """Messages handled, wall seconds, CPU seconds, and per flow [messages, CPU seconds].

    Rates are computed from CPU time (this process only): on a machine shared with other
    work, wall time also counts the moments the scheduler gave our core to someone else.
    """
    per_flow: dict[str, list[float]] = {s.flow.id: [0, 0.0] for s in scripts}
    total = 0
    clock = time.process_time
    wall_started, started = time.perf_counter(), clock()
    while clock() - started < seconds:
        for script in scripts:
            t = clock()
            state = replay(script, with_json)
            elapsed = clock() - t
            if state["answers"] != script.final_answers:
                raise SystemExit(f"{script.flow.id}: replay diverged from the prepared survey")
            figures = per_flow[script.flow.id]
            figures[0] += len(script.messages)
            figures[1] += elapsed
            total += len(script.messages)
    return total, time.perf_counter() - wall_started, clock() - started, per_flow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to run (default 5)")
    parser.add_argument("--styles", type=int, default=5, help="respondent styles per flow (default 5)")
    parser.add_argument("--json", action="store_true", help="add a JSON round trip of the state per message")
    parser.add_argument("--profile", action="store_true", help="print cProfile hot spots instead")
    args = parser.parse_args()

    flows = [load_flow(p) for p in default_flow_paths()]
    scripts = [prepare(flow, style) for flow in flows for style in range(args.styles)]
    run(scripts, 0.3, args.json)  # warm up: compiled machines, parser tables, regex caches

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        total, _, cpu, _ = run(scripts, args.seconds, args.json)
        profiler.disable()
        print(f"{total} messages in {cpu:.2f} CPU s under cProfile (slower than without)\n")
        stats = pstats.Stats(profiler).strip_dirs().sort_stats("tottime")
        stats.print_stats(30)
        stats.sort_stats("cumulative").print_stats(25)
        return

    total, wall, cpu, per_flow = run(scripts, args.seconds, args.json)
    rate = total / cpu
    print(f"flows.engine on one core, {len(flows)} flows × {args.styles} respondent styles"
          f"{', with JSON round trip' if args.json else ''}")
    print(f"{total:,} messages in {cpu:.2f} CPU s: {rate:,.0f} messages/s, {1e6 / rate:.1f} µs per message")
    print(f"(wall clock {wall:.2f} s: {total / wall:,.0f} messages/s; lower when other work shares the core)")
    print(f"goal {GOAL:,} messages/s: {'met' if rate >= GOAL else 'NOT met'}\n")
    print(f"{'flow':<20} {'msgs/survey':>11} {'messages':>10} {'msg/s':>9} {'µs/msg':>8}")
    for flow in flows:
        count, spent = per_flow[flow.id]
        per_survey = sum(len(s.messages) for s in scripts if s.flow is flow) / args.styles
        print(f"{flow.id:<20} {per_survey:>11.1f} {int(count):>10,} {count / spent:>9,.0f} {1e6 * spent / count:>8.1f}")


if __name__ == "__main__":
    main()
