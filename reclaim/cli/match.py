"""``reclaim match``: check files against the banks."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from reclaim.cli.app import app
from reclaim.cli.common import open_matcher, open_store, settings_of
from reclaim.cli.output import EXIT_OK, EXIT_SOME_FAILED, OutputFormat, reports_errors, writer
from reclaim.hashing.files import (
    FingerprintOptions,
    fingerprint_file,
    iter_media_paths,
    options_for,
)
from reclaim.hashing.video import Sampling, VideoQuery


@app.command("match")
@reports_errors
def match(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="Image files and folders to check.", show_default=False)
    ],
    banks: Annotated[
        list[str] | None,
        typer.Option("--bank", help="Only report matches in this bank (repeatable)."),
    ] = None,
    threshold: Annotated[
        int | None,
        typer.Option(
            "--threshold", min=0, max=256, help="Largest PDQ distance that matches (default 31)."
        ),
    ] = None,
    plain: Annotated[
        bool,
        typer.Option(
            "--plain",
            help="Match by whole-image PDQ and exact hashes only, not by local features "
            "(faster; misses cropped, framed, turned and captioned copies); sample videos "
            "as vPDQ does, one frame a second, not at their key frames, look once, and "
            "match them by whole frames (registered region hashes still find cropped "
            "copies, not marked or subtitled ones).",
        ),
    ] = False,
) -> None:
    """Check files against the banks; one line per file with its matches.

    Matches come from PDQ, exact hashes and, unless --plain, the PDQ hashes of the
    file's rotations and mirror image and its local features: a keypoints match gives
    "inliers", the corners one transform explains. A video is matched by its frames
    (vPDQ's rules): a vpdq match gives "query_percent" and "target_percent", the shares
    of its frames and of the registered video's that match; a video_regions match, the
    same by the registered frames' region hashes (cropped, marked, subtitled copies).
    While every registered video was sampled densely (as bank add registers them), a
    video is sampled at its key frames, and query_percent is the share of its time that
    matches. A video whose key frames come near a registered video without matching it
    (half its time) is checked again, sampled as densely as registrations: then it also
    matches a registered video 80% (and 8 frames at least) of whose frames it holds
    (other material spliced in). One sampled at its key frames just before a
    one-a-second list reached the banks is checked again one frame a second.

    Exit status 0 when every file was checked (matched or not), 1 when some could not
    be read.
    """
    settings = settings_of(ctx)
    store = open_store(ctx)
    matcher = open_matcher(ctx, store)
    limit = settings.match_threshold if threshold is None else threshold
    # No local features held: the upload's own would find nothing.
    robust = not plain and matcher.holds_features
    # vPDQ's sampling: --plain's (whole frames, one look) and a second look's against a
    # one-a-second list; or a second look as dense as registrations.
    every = options_for(
        settings,
        dihedral=not plain,
        query_features=robust,
        query_regions=not plain and matcher.holds_regions,
        video_sampling=Sampling.EVERY,
    )
    closer = replace(every, seconds_per_hash=settings.video_register_seconds_per_hash)
    options = every
    failed = 0
    with writer(OutputFormat.JSON, ()) as out:
        for item in iter_media_paths(paths):
            if not isinstance(item, Path):
                failed += 1
                out.send({"path": item.source, "matches": [], "error": item.to_dict()})
                continue
            if not plain:  # a sync may have brought a sparse list since the last file
                options = replace(options, video_sampling=matcher.video_sampling)
            result = fingerprint_file(item, options)
            if not result.ok:
                failed += 1
                out.send({"path": result.path, "matches": [], "error": result.error})
                continue
            outcome = matcher.match(
                result.query_signals(settings.pdq_min_quality),
                banks,
                limit,
                views=result.views or (),
                video=result.video,
                video_again=None if plain else partial(_video_again, item, closer, every),
            )
            record: dict[str, object] = {
                "path": result.path,
                "matches": [m.to_dict() for m in outcome.matches],
                "error": None,
            }
            if outcome.suppressed_by:
                record["suppressed_by"] = [m.to_dict() for m in outcome.suppressed_by]
            out.send(record)
    matcher.save_snapshot()
    raise typer.Exit(EXIT_SOME_FAILED if failed else EXIT_OK)


def _video_again(
    path: Path, closer: FingerprintOptions, every: FingerprintOptions, dense: bool
) -> VideoQuery | None:
    """A second look at a video: as densely as registrations, or as vPDQ samples."""
    return _video_of(path, closer if dense else every)


def _video_of(path: Path, options: FingerprintOptions) -> VideoQuery | None:
    """A video file's frames as ``options`` sample them (``None`` if it cannot be read)."""
    return fingerprint_file(path, options).video
