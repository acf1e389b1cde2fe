"""The benchmark scripts keep working: each runs with ``--quick`` and prints the figures it promises.

These tests check structure (parseable JSON lines, the documented keys and figure names) and
correctness that does not depend on speed (uploads arrived intact, posts were published).
They never check a speed: a slow machine must not fail CI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
FIGURE_KEYS = {"benchmark", "figure", "value", "unit"}


def run_script(name: str, *args: str) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines, "the benchmark printed nothing"
    figures = [json.loads(line) for line in lines]
    for figure in figures:
        assert figure.keys() >= FIGURE_KEYS, figure
        assert figure["value"] is None or isinstance(figure["value"], (int, float)), figure
        if figure["value"] is None:
            assert figure.get("note"), f"a figure without a value must say why: {figure}"
    return figures


def by_name(figures: list[dict[str, Any]], benchmark: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for figure in figures:
        assert figure["benchmark"] == benchmark
        found.setdefault(figure["figure"], []).append(figure)
    return found


def test_machine_names_cores_python_and_library_versions() -> None:
    [machine] = run_script("machine.py", "--quick")
    assert machine["figure"] == "cores"
    assert machine["value"] >= 1
    assert machine["python"] == sys.version.split()[0]
    assert machine["packages"]["aiohttp"]


def test_startup_prints_help_time_and_the_slowest_imports() -> None:
    figures = by_name(run_script("startup.py", "--quick"), "startup")
    assert set(figures) == {"help_wall_ms", "help_cold_ms", "python_bare_ms", "help_ratio", "help_cold_ratio",
                            "import_core_ms", "import_top_ms"}
    [help_time] = figures["help_wall_ms"]
    assert help_time["unit"] == "ms"
    assert {"min", "max", "runs", "target", "within_target"} <= help_time.keys()
    assert help_time["value"] > 0
    assert figures["help_cold_ms"][0]["value"] > 0
    [ratio] = figures["help_ratio"]
    assert ratio["target"] == 2.5
    assert ratio["value"] > 0
    assert figures["import_core_ms"][0]["value"] is not None, "the importtime output could be read"
    top = figures["import_top_ms"]
    assert [f["rank"] for f in top] == list(range(1, len(top) + 1))
    # Slowest first. (crosspost.core itself resolves its names lazily, so it need not be listed.)
    assert [f["value"] for f in top] == sorted((f["value"] for f in top), reverse=True)


def test_scheduler_prints_claim_and_insert_percentiles_for_both_sizes_and_their_growth() -> None:
    figures = by_name(run_script("scheduler.py", "--quick"), "scheduler")
    for what in ("claim", "insert", "claim_nosync", "insert_nosync"):
        for label in ("p50", "p99"):
            assert sorted(f["posts"] for f in figures[f"{what}_{label}_ms"]) == [1000, 10000]
        [growth] = figures[f"{what}_p50_growth"]
        assert growth["unit"] == "ratio"
        assert (growth["from_posts"], growth["to_posts"], growth["linear"]) == (1000, 10000, 10.0)
    assert len(figures["unindexed_lookup_ms"]) == 2
    assert figures["unindexed_lookup_growth"][0]["value"] > 0
    for setup in figures["setup_s"]:
        assert "jobs_waiting" in setup["claim_plan"], "the claim reads the waiting-jobs index"


@pytest.mark.slow
def test_upload_memory_prints_peak_rss_per_size_and_the_growth_against_its_limit() -> None:
    figures = by_name(run_script("upload_memory.py", "--quick"), "upload_memory")
    peaks = figures["peak_rss_mib"]
    assert [p["size_mib"] for p in peaks] == [8.0, 80.0]
    assert all(p["complete"] for p in peaks), "every byte reached the sink"
    assert all(p["value"] > 0 for p in peaks)
    [growth] = figures["peak_rss_growth_mib"]
    assert growth["limit_mib"] == 48.0
    assert isinstance(growth["within_limit"], bool)


@pytest.mark.slow
def test_upload_throughput_prints_each_sender_and_the_ratios() -> None:
    figures = by_name(run_script("upload_throughput.py", "--quick"), "upload_throughput")
    senders = {"sink_alone_mb_s", "crosspost_mb_s", "curl_mb_s", "requests_mb_s"}
    ratios = {"crosspost_vs_curl", "crosspost_vs_requests", "crosspost_vs_sink_alone", "crosspost_cpu_vs_curl"}
    assert set(figures) == senders | ratios
    [ours] = figures["crosspost_mb_s"]
    assert ours["intact"] is True, "crosspost's upload arrived byte for byte"
    assert ours["chunks"] == 2
    for name in senders - {"sink_alone_mb_s"}:
        [sender] = figures[name]
        assert sender["value"] is None or sender["intact"] is True, sender
    assert figures["crosspost_vs_curl"][0]["target"] == 0.9
    [cpu] = figures["crosspost_cpu_vs_curl"]
    assert cpu["target"] == 1.2
    assert cpu["value"] is None or cpu["value"] > 0


@pytest.mark.slow
def test_engine_overhead_publishes_every_post_with_both_clients_and_prints_the_ratios() -> None:
    figures = by_name(run_script("engine_overhead.py", "--quick"), "engine_overhead")
    for client, final in (("crosspost", "published"), ("minimal", "PUBLISH_COMPLETE")):
        [speed] = figures[f"{client}_posts_per_s"]
        assert speed["statuses"] == {final: 20}
        assert (speed["posts"], speed["accounts"]) == (20, 2)
        assert figures[f"{client}_cpu_ms_per_post"][0]["value"] > 0
        [server] = figures[f"{client}_emulator_cpu_ms_per_post"]
        assert server["routes"]["video_init 200"] == 20
    ours = figures["crosspost_emulator_cpu_ms_per_post"][0]["routes"]
    floor = figures["minimal_emulator_cpu_ms_per_post"][0]["routes"]
    assert ours == floor, "the minimal client sends the same requests as crosspost"
    assert {"cpu_ratio", "extra_cpu_ms_per_post", "throughput_ratio"} <= set(figures)


def test_repeat_summarises_each_figure_as_median_min_and_max() -> None:
    figures = run_script("repeat.py", "--runs", "2", str(BENCHMARKS / "startup.py"), "--runs", "1")
    [help_time] = [f for f in figures if f["figure"] == "help_wall_ms"]
    assert help_time["runs"] == 2
    assert help_time["min"] <= help_time["value"] <= help_time["max"]
    assert len(help_time["values"]) == 2
    assert figures[-1]["figure"] == "load_average_1m"


def test_statements_per_post_counts_statements_and_transactions() -> None:
    figures = by_name(run_script("statements_per_post.py", "--quick"), "statements_per_post")
    assert set(figures) == {"statements_per_post", "transactions_per_post"}
    [statements] = figures["statements_per_post"]
    assert statements["value"] == sum(statements["by_kind"].values())
    assert statements["by_kind"]["BEGIN"] == figures["transactions_per_post"][0]["value"]


def test_cli_post_times_the_crosspost_command_against_curl_end_to_end() -> None:
    figures = by_name(run_script("cli_post.py", "--quick"), "cli_post")
    for name in ("crosspost_wall_s", "crosspost_upload_done_s", "crosspost_peak_rss_mib", "crosspost_first_request_s",
                 "crosspost_upload_start_s", "end_to_end_vs_curl"):
        assert name in figures, name
    [first] = figures["crosspost_first_request_s"]
    [done] = figures["crosspost_upload_done_s"]
    assert 0 < first["value"] <= done["value"], "the first request precedes the end of the upload"
    assert figures["crosspost_peak_rss_mib"][0]["value"] > 0


def test_fanout_drains_every_post_within_tiktoks_limits_and_prints_the_bound() -> None:
    figures = by_name(run_script("fanout.py", "--quick", "--mastodon-accounts", "3"), "fanout")
    [drain] = figures["drain_wall_s"]
    assert drain["posts"] == (20 + 3) * 8
    assert drain["statuses"] == {"published": drain["posts"]}, "every post of the fan-out was published"
    assert drain["bound_s"] > 0
    [refused] = figures["rate_limited_answers"]
    assert refused["value"] == 0, f"the emulator refused requests for rate: {refused['routes']}"
    [mastodon] = figures["mastodon_rate_limited_answers"]
    assert mastodon["value"] == 0, f"the Mastodon emulator refused requests for rate: {mastodon['routes']}"
    assert mastodon["statuses_created"] == 3 * 8, "each Mastodon post created one status, once"
    assert {"drain_vs_bound", "posts_per_s"} <= figures.keys()


def test_fanout_measures_a_minimal_client_on_the_same_posts_as_the_machines_bound() -> None:
    figures = by_name(run_script("fanout.py", "--quick"), "fanout")
    [drain] = figures["drain_wall_s"]
    [reference] = figures["minimal_drain_wall_s"]
    [ratio] = figures["drain_vs_minimal"]
    assert drain["statuses"] == {"published": 20 * 8}
    assert reference["value"] > 0
    assert reference["emulator_cpu_s"] > 0
    assert ratio["value"] == pytest.approx(drain["value"] / reference["value"], rel=5e-3)
    assert ratio["minimal_vs_bound"] == pytest.approx(reference["value"] / reference["bound_s"], rel=5e-3)


def test_storage_claims_prints_each_backend_beside_its_minimal_queue_and_the_ratio() -> None:
    figures = by_name(run_script("storage_claims.py", "--quick", "--hub", "--postgres", ""), "storage_claims")
    for workers in (1, 4):
        [ours] = figures[f"claim_complete_per_s_sqlite_{workers}w"]
        [hub] = figures[f"hub_claim_complete_per_s_sqlite_{workers}w"]
        [reference] = figures[f"minimal_claim_complete_per_s_sqlite_{workers}w"]
        assert ours["claims"] == hub["claims"] == reference["claims"] == 300
        assert ours["claimed_twice"] == hub["claimed_twice"] == reference["claimed_twice"] == 0
        [ratio] = figures[f"claim_complete_per_s_sqlite_{workers}w_ratio"]
        assert ratio["value"] == pytest.approx(ours["value"] / reference["value"], rel=5e-3)
        [hub_ratio] = figures[f"hub_claim_complete_per_s_sqlite_{workers}w_ratio"]
        assert hub_ratio["value"] == pytest.approx(hub["value"] / reference["value"], rel=5e-3)


def test_postgres_pool_says_how_to_run_it_without_a_server() -> None:
    [figure] = run_script("postgres_pool.py", "--quick", "--postgres", "")
    assert figure["value"] is None
    assert "CROSSPOST_TEST_POSTGRES" in figure["note"]
