"""Benchmarks of the Slack app on this machine. Prints figures against the goals; asserts nothing.

    python bench/bench_bot.py [--memory-commands 1000]

Both apps run as their own process under uvicorn with the ASGI adapter, answering signed
requests on 127.0.0.1; the fake Slack Web API (tests/slack/fake_slack.py) runs in a third process,
so that neither the load generator nor the apps share an interpreter lock with it.

Throughput is a steady state: each app first answers WARM_UP commands (imports, first connections,
caches), then the median of THROUGHPUT_RUNS runs is printed, so one disturbed run on two shared
cores does not make the figure. To compare two checkouts, run this script from one with the other
as the working directory and PYTHONPATH: the bot started is the one found there.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


SECRET = "bench-secret"
TOKEN = "xoxb-bench-token"
TEXT = "volume=2M/month in=1500 out=200 api=gpt-4o gpu=a10g"

TRIVIAL = """
import sys, uvicorn
from slack_bolt import App
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_sdk import WebClient
app = App(client=WebClient(token="xoxb-x", base_url=sys.argv[2]), signing_secret=sys.argv[3],
          process_before_response=True, token_verification_enabled=False)
@app.command("/breakeven")
def ack_only(ack):
    ack()
uvicorn.run(SlackRequestHandler(app), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except urllib.error.HTTPError:
            return process  # the trivial app has no /healthz: any HTTP answer means it is up
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def signed_command(port: int, text: str, trigger: str) -> float:
    body = urlencode(
        {
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/breakeven",
            "text": text,
            "trigger_id": trigger,
            "response_url": "http://127.0.0.1:1/x",
        }
    ).encode()
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        },
    )
    start_time = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        assert response.status == 200
    return time.perf_counter() - start_time


WARM_UP = 300
THROUGHPUT_RUNS = 3


def steady_throughput(port: int, text: str, n: int) -> tuple[float, float]:
    """(acks a second, p99 ack latency): medians of THROUGHPUT_RUNS runs after a warm-up."""
    throughput(port, text, WARM_UP)
    runs = [throughput(port, text, n) for _ in range(THROUGHPUT_RUNS)]
    return statistics.median(r for r, _ in runs), statistics.median(p for _, p in runs)


def throughput(port: int, text: str, n: int, clients: int = 8) -> tuple[float, float]:
    with ThreadPoolExecutor(clients) as pool:
        started = time.perf_counter()
        latencies = list(
            pool.map(lambda i: signed_command(port, text, f"t-{port}-{i}-{time.monotonic_ns()}"), range(n))
        )
        elapsed = time.perf_counter() - started
    return n / elapsed, statistics.quantiles(latencies, n=100)[98]


def pss_mb(pid: int) -> float:
    """Proportional set size: the process's resident memory, each page shared with another process
    (the worker forked from it) counted in part. The sum over processes is what they cost the machine."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_pss_mb(pid: int) -> tuple[float, ...]:
    """Memory of the process and of each of its children (the bot's worker process)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return (pss_mb(pid), *(pss_mb(int(child)) for child in children))


def database_bytes(path: Path) -> int:
    """The database's size on disk: the file and its WAL (what a backup and the volume must hold)."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def count_analyses(path: Path) -> int:
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT count(*) FROM analyses").fetchone()[0]
    finally:
        connection.close()


class RemoteFake:
    """The fake Slack in its own process; its call counts read over HTTP (/stats)."""

    def __init__(self, workdir: Path, env: dict):
        url_file = workdir / "fake-url"
        url_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.slack.fake_slack", str(url_file)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not url_file.exists() or not url_file.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("fake Slack did not start")
            time.sleep(0.05)
        self.url = url_file.read_text()

    def count(self, method: str) -> int:
        with urllib.request.urlopen(self.url.replace("/api/", "/stats"), timeout=10) as response:
            return json.loads(response.read()).get(method, 0)

    def wait_for(self, method: str, at_least: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count(method) < at_least:
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {at_least} {method}")
            time.sleep(0.02)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def dispatch_cost(fake_url: str, workdir: Path, n: int = 2000) -> float:
    """Seconds one signed command spends in Bolt's dispatch and our listener (which stores the job),
    in-process, the work itself not run."""
    from slack_bolt.request import BoltRequest

    from bot.app import build_app
    from bot.settings import load_settings

    settings = load_settings(
        slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=fake_url, breakeven_db=workdir / "dispatch.db"
    )
    app, bot = build_app(settings)

    from concurrent.futures import Future

    class Discard:  # the ack path alone: the job is stored (that is part of the ack), not run
        def submit(self, *args, **kwargs):
            discarded = Future()
            discarded.set_result(None)
            return discarded

    bot.lanes = {name: Discard() for name in bot.lanes}
    requests = []
    for i in range(n):
        body = urlencode(
            {
                "team_id": "T1",
                "channel_id": "C1",
                "user_id": "U1",
                "command": "/breakeven",
                "text": "help",
                "trigger_id": f"d-{i}",
            }
        )
        stamp = str(int(time.time()))
        signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
        requests.append(
            BoltRequest(
                body=body,
                headers={
                    "content-type": ["application/x-www-form-urlencoded"],
                    "x-slack-request-timestamp": [stamp],
                    "x-slack-signature": [signature],
                },
            )
        )
    started = time.perf_counter()
    for request in requests:
        assert app.dispatch(request).status == 200
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--memory-commands", type=int, default=1000)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BREAKEVEN_"))}
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"breakeven-bench-{os.getpid()}"
    workdir.mkdir(exist_ok=True)
    slack = RemoteFake(workdir, env)
    trivial_port, bot_port = free_port(), free_port()
    trivial = start([sys.executable, "-c", TRIVIAL, str(trivial_port), slack.url, SECRET], env, trivial_port)
    bot_env = {
        **env,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url,
        "PORT": str(bot_port),
        "BREAKEVEN_DB": str(workdir / "bench.db"),
    }
    bot = start([sys.executable, "-m", "bot.app"], bot_env, bot_port)
    try:
        base_rate, base_p99 = steady_throughput(trivial_port, "help", args.requests)
        rate, p99 = steady_throughput(bot_port, "help", args.requests)
        print(f"ack-only Bolt app            {base_rate:8.0f} acks/s   p99 {base_p99 * 1000:6.1f} ms")
        print(
            f"breakeven (/breakeven help)  {rate:8.0f} acks/s   p99 {p99 * 1000:6.1f} ms   "
            f"goal >= {base_rate / 2:.0f}/s {verdict(rate >= base_rate / 2)}, p99 < 100 ms {verdict(p99 < 0.1)}"
        )

        print(
            f"  (the ack path itself, in-process: {dispatch_cost(slack.url, workdir) * 1e6:.0f} us a command; "
            "the rest of each command is its reply through the Web API, on the same 2 cores)"
        )

        # 20 simultaneous analyses, each rendering and uploading its chart.
        charts = slack.count("files.completeUploadExternal")
        sent = time.perf_counter()
        with ThreadPoolExecutor(20) as pool:
            acks = list(pool.map(lambda i: signed_command(bot_port, TEXT, f"burst-{i}"), range(20)))
        slack.wait_for("files.completeUploadExternal", charts + 20, timeout=60)
        all_posted = time.perf_counter() - sent
        print(
            f"20 simultaneous analyses     slowest ack {max(acks) * 1000:6.1f} ms (goal < 500 ms "
            f"{verdict(max(acks) < 0.5)}), all 20 charts posted in {all_posted:4.2f} s "
            f"(goal < 6 s {verdict(all_posted < 6)})"
        )

        # One command at a time, idle in between: command to chart posted.
        times = []
        for i in range(20):
            before = slack.count("files.completeUploadExternal")
            sent = time.perf_counter()
            signed_command(bot_port, TEXT, f"idle-{i}")
            slack.wait_for("files.completeUploadExternal", before + 1, timeout=30)
            times.append(time.perf_counter() - sent)
        p95 = statistics.quantiles(times, n=20)[18]
        print(
            f"idle command to chart posted p95 {p95 * 1000:6.0f} ms (goal < 1 s {verdict(p95 < 1)}), "
            f"median {statistics.median(times) * 1000:.0f} ms"
        )

        # Memory after many analyses, and whether it keeps growing.
        n = args.memory_commands
        db_before = database_bytes(workdir / "bench.db")
        analyses_before = count_analyses(workdir / "bench.db")
        marks, parts = [], []
        posted = slack.count("chat.postMessage")
        for chunk in range(4):
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i, c=chunk: signed_command(bot_port, TEXT, f"mem-{c}-{i}"), range(n // 4)))
            slack.wait_for("chat.postMessage", posted + (chunk + 1) * (n // 4), timeout=600)
            parts.append(tree_pss_mb(bot.pid))
            marks.append(sum(parts[-1]))
        growth = marks[-1] - marks[1]
        split = " + ".join(f"{m:.0f}" for m in parts[-1])
        print(
            f"memory (PSS) after {n} analyses: {marks[-1]:.0f} MB ({split} MB: the process and its worker; "
            f"quarters: {', '.join(f'{m:.0f}' for m in marks)} MB; goal < 200 MB {verdict(marks[-1] < 200)}, "
            f"growth over the last three quarters {growth:+.0f} MB)"
        )
        made = count_analyses(workdir / "bench.db") - analyses_before
        grown = database_bytes(workdir / "bench.db") - db_before
        print(
            f"disk: the database (file + WAL) grew {grown / 1e6:.1f} MB over {made} analyses: "
            f"{grown / max(made, 1) * 1000 / 1e6:.1f} MB per 1,000 analyses (each with its job row)"
        )
    finally:
        for process in (trivial, bot):
            process.terminate()
            process.wait(timeout=20)
        slack.close()


if __name__ == "__main__":
    main()
