"""The benchmark's table: every figure beside its target, and whether the median meets it.

The targets are the ones the project holds itself to on its 2-core development machine; ratios to Hugo and to
Postfix's smtp-source are taken within the same run, so they hold even when the machine is busy.
"""

from __future__ import annotations

from scale import rows as scale_rows

TARGETS = {
    "full_build_1000_ratio_to_hugo": "<= 0.8",
    "full_build_4000_ratio_to_hugo": "<= 0.7", "full_build_4000_peak_mb": "<= 300",
    "rebuild_unchanged_4000_s": "<= 0.25", "rebuild_one_edit_4000_s": "<= 0.5 (same bytes as a clean build)",
    "help_s": "<= 0.060",
    "campaign_ratio_to_smtp_source": ">= 1.5", "campaign_peak_mb": "<= 100",
    "full_build_40000_ratio_to_hugo": "<= 1.0", "full_build_40000_peak_growth": "<= the growth in posts",
    "campaign_killed_and_resumed": "nothing lost", "import_100000_rows_s": "<= 10",
    "images_rebuild_unchanged_s": "<= 0.5", "page_weight_375px_kb": "<= 300",
}
RATIO_TO_HUGO = {1000: 0.8, 4000: 0.7, 40000: 1.0}


def table(results: dict) -> str:
    """The results as aligned rows: measure, figure (median, min-max), target, verdict."""
    rows = [("measure (median, min-max)", "measured", "target", "")]
    builds = {b["posts"]: b for b in results.get("builds", [])}
    for b in builds.values():
        rows += _build_rows(b)
    if "large" in results:
        rows += _large_rows(results["large"], builds.get(4000))
    if "help" in results:
        help_s = results["help"]["help_s"]
        rows.append(("publisher --help", fmt(help_s, ms=True), "<= 60 ms", _verdict(help_s["median"] <= 0.060)))
    if "campaign" in results:
        rows += _campaign_rows(results["campaign"])
    if "kill" in results:
        k = results["kill"]
        rows.append(("campaign killed midway, resumed", f"missing {k['recipients_missing']}, duplicates "
                     f"{k['duplicates_received']} (reported {k['possible_duplicates_reported']})", "nothing lost",
                     _verdict(k["nothing_lost"])))
    if "import" in results:
        i = results["import"]
        rows.append((f"subscribers import, {i['rows']:,}-row Mailchimp export", f"{fmt(i['seconds'])}, peak "
                     f"{i['peak_mb']:.0f} MB", "<= 10 s", _verdict(i["seconds"]["median"] <= 10)))
    if "images" in results:
        rows += _image_rows(results["images"])
    if "scale" in results:
        rows += [(*row, "") for row in scale_rows(results["scale"])]
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, width)).rstrip() for row in rows)


def _build_rows(b: dict) -> list[tuple[str, str, str, str]]:
    posts, hugo = b["posts"], b.get("hugo")
    peak_target = posts == 4000
    rows = [(f"full build, {posts:,} posts", f"{fmt(b['full_build_s'])}, peak {b['full_build_peak_mb']:.0f} MB",
             "<= 300 MB" if peak_target else "", _verdict(b["full_build_peak_mb"] <= 300) if peak_target else "")]
    if hugo:
        rows.append(("  Hugo, same corpus", f"{fmt(hugo['full_build_s'])}, peak {hugo['full_build_peak_mb']:.0f} MB",
                     "", ""))
        rows.append(_ratio_row(posts, b["ratio_to_hugo"]))
    big = posts == 4000
    rows.append((f"rebuild, nothing changed, {posts:,}", fmt(b["rebuild_unchanged_s"]), "<= 0.25 s" if big else "",
                 _verdict(b["rebuild_unchanged_s"]["median"] <= 0.25) if big else ""))
    same = b["one_edit_identical_to_clean_build"]
    rows.append((f"rebuild, one post edited, {posts:,}", f"{fmt(b['rebuild_one_edit_s'])}, identical: {same}",
                 "<= 0.5 s, identical" if big else "identical",
                 _verdict(same and (not big or b["rebuild_one_edit_s"]["median"] <= 0.5))))
    return rows


def _ratio_row(posts: int, ratio: float) -> tuple[str, str, str, str]:
    target = RATIO_TO_HUGO.get(posts)
    return ("  ratio to Hugo", f"{ratio:.2f}", f"<= {target}" if target else "",
            _verdict(ratio <= target) if target else "")


def _large_rows(large: dict, four: dict | None) -> list[tuple[str, str, str, str]]:
    posts, hugo = large["posts"], large.get("hugo")
    rows = [(f"full build, {posts:,} posts", f"{fmt(large['full_build_s'])}, peak {large['full_build_peak_mb']:.0f} MB",
             "completes", _verdict(True))]
    if hugo:
        rows.append(("  Hugo, same corpus", f"{fmt(hugo['full_build_s'])}, peak {hugo['full_build_peak_mb']:.0f} MB",
                     "", ""))
        rows.append(_ratio_row(posts, large["ratio_to_hugo"]))
    if four:
        growth = large["full_build_peak_mb"] / four["full_build_peak_mb"]
        posts_growth = posts / four["posts"]
        rows.append((f"  peak memory, {posts:,} over 4,000 posts", f"x{growth:.1f}", f"<= x{posts_growth:g}",
                     _verdict(growth <= posts_growth)))
    return rows


def _campaign_rows(c: dict) -> list[tuple[str, str, str, str]]:
    rate = c["messages_per_s"]
    rows = [(f"campaign, {c['recipients']:,} x {c['message_bytes'] / 1000:.0f} KB ({c['sink']})",
             f"{rate_text(rate)}, peak {c['peak_mb']['median']:.0f} MB", "<= 100 MB",
             _verdict(c["peak_mb"]["median"] <= 100))]
    if "smtp_source" in c:
        rows.append(("  Postfix smtp-source, one session, same message", rate_text(c["smtp_source"]["messages_per_s"]),
                     "", ""))
        ratio = c["ratio_to_smtp_source"]
        rows.append(("  ratio to smtp-source", f"{ratio:.2f}", ">= 1.5", _verdict(ratio >= 1.5)))
    return rows


def _image_rows(i: dict) -> list[tuple[str, str, str, str]]:
    unchanged = i["rebuild_unchanged_s"]
    rows = [(f"full build, {i['posts']:,} posts + {i['photos']} photos, cold image cache",
             f"{i['full_build_cold_image_cache_s']:.2f} s ({i['image_files_made_cold']:,} image files made)", "", ""),
            ("  the same, warm image cache", f"{fmt(i['full_build_warm_image_cache_s'])} "
             f"({i['image_files_made_warm']} made)", "", ""),
            (f"rebuild, nothing changed, {i['posts']:,} + photos", fmt(unchanged), "<= 0.5 s",
             _verdict(unchanged["median"] <= 0.5))]
    for path, weight in i["page_weight_375px"].items():
        rows.append((f"page weight at 375 px, {path}", f"{weight['bytes'] / 1000:.0f} KB in "
                     f"{len(weight['files'])} files", "<= 300 KB", _verdict(weight["bytes"] <= 300_000)))
    return rows


def rate_text(rate: dict) -> str:
    return f"{rate['median']:,.0f} msg/s ({rate['min']:,.0f}-{rate['max']:,.0f})"


def fmt(s: dict, ms: bool = False) -> str:
    if ms:
        return f"{s['median'] * 1000:.0f} ms ({s['min'] * 1000:.0f}-{s['max'] * 1000:.0f})"
    return f"{s['median']:.2f} s ({s['min']:.2f}-{s['max']:.2f})"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
