"""Images that fit the screen: every PNG and JPEG in the site's static files is resized at build time (Pillow)
to a few widths, never upscaled, each copy written as the original's format and as WebP beside it, plus the
newsletter's copy (mail/images.py); pages then get `srcset`, `sizes`, `width` and `height` (`pictures_in`).

    static/images/a.png (1,600 px)  ->  images/a-480w.png a-480w.webp a-800w.png a-800w.webp
                                        a-1200w.png a-1200w.webp a-email.png (1,200 px)

Resized files are kept in the build cache by content (`content/<digest>-<width>.<ext>`, the digest being the
source's bytes hashed), and the folder `site/` there holds them linked under the names above, laid out as the
site is: the build copies it into the output with the static files, so the output's manifest knows them. An
index of each source's size and time stands in for its bytes, so a rebuild with no image changed reads no
image and resizes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from posixpath import splitext

from ..config import Config
from ..mail.images import EMAIL_WIDTH, RESIZED_SUFFIXES, email_copy_path
from ..parallel import map_parallel

WIDTHS = (480, 800, 1_200)
CACHE_FOLDER = "images"
INDEX = "index.json"
WEBP_QUALITY = 80
JPEG_QUALITY = 82
_TURNED = {5, 6, 7, 8}  # EXIF orientations that show the picture on its side: width and height swap
_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_SAVE_OPTIONS = {"WEBP": {"quality": WEBP_QUALITY, "method": 4},  # PNG's optimize=True costs 7x the time
                 "JPEG": {"quality": JPEG_QUALITY, "optimize": True, "progressive": True}, "PNG": {}}


@dataclass(frozen=True)
class Picture:
    """One image of the site: its path in the site, its size in pixels, the widths of its resized copies, and
    why it cannot be read ('' when it can)."""
    path: str
    width: int = 0
    height: int = 0
    digest: str = ""
    widths: tuple[int, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class Images:
    """The site's images by path, the folder laid out as the site that holds their copies, how many copies this
    build had to make, and a fingerprint that changes whenever an image does."""
    pictures: dict[str, Picture]
    folder: Path
    made: int
    fingerprint: str


def prepare_images(config: Config, verify: bool = False) -> Images:
    """Every image in static/ measured and resized (only those not yet in the cache), and the site-shaped folder
    of copies brought up to date; an image that cannot be read is listed with its problem, not resized. When
    the index says the copies of exactly these images were all made, nothing else is looked at, unless
    `verify` (a --clean build) asks for every copy to be checked."""
    static = config.path(config.paths.static)
    cache = config.path(config.paths.cache) / CACHE_FOLDER
    index = _load_index(cache)
    known = index.get("pictures", {})
    stats, pictures = _measure_all(static, known)
    entries = {path: _entry(p, stats[path]) for path, p in pictures.items()}
    print_ = hashlib.blake2b(repr(sorted((p.path, p.digest, p.problem) for p in pictures.values())).encode(),
                             digest_size=16).hexdigest()
    if not verify and entries == known and index.get("made") == print_:
        return Images(pictures, cache / "site", 0, print_)
    todo = [(static / p.path, target, width, fmt) for p in pictures.values() if not p.problem
            for target, width, fmt in _content_files(cache, p) if not target.exists()]
    map_parallel(_resize, todo, min_items=16)
    _link_site_folder(cache, pictures.values())
    _save_index(cache, {"pictures": entries, "made": print_})
    return Images(pictures, cache / "site", len(todo), print_)


def measure_images(config: Config) -> dict[str, Picture]:
    """Every image in static/ measured (from the cache's index while a file is unchanged), writing nothing:
    what `check` needs to tell which images the build would refuse."""
    index = _load_index(config.path(config.paths.cache) / CACHE_FOLDER)
    return _measure_all(config.path(config.paths.static), index.get("pictures", {}))[1]


def _measure_all(static: Path, known: dict) -> tuple[dict[str, list[int]], dict[str, Picture]]:
    """Each image's size and time on disk, and its measurements, by path in the site."""
    stats = {path: _stat_of(source) for source, path in _sources(static)}
    return stats, {path: _measure(static / path, path, stat, known.get(path)) for path, stat in stats.items()}


def copy_widths(width: int) -> tuple[int, ...]:
    """The widths an image of `width` pixels is offered in: the standard ones below it, and its own when it is
    no wider than the widest (a copy is never larger than its original)."""
    return tuple(w for w in WIDTHS if w < width) + ((width,) if width <= WIDTHS[-1] else ())


def copy_path(path: str, width: int, ext: str) -> str:
    """images/a.png, 480, .webp -> images/a-480w.webp (a path in the site)."""
    return f"{splitext(path)[0]}-{width}w{ext}"


def _sources(static: Path) -> Iterator[tuple[Path, str]]:
    for source in sorted(static.rglob("*")) if static.is_dir() else ():
        if source.suffix.lower() in RESIZED_SUFFIXES and source.is_file():
            yield source, source.relative_to(static).as_posix()


def _stat_of(source: Path) -> list[int]:
    st = source.stat()
    return [st.st_size, st.st_mtime_ns]


def _measure(source: Path, path: str, stat: list[int], known: dict | None) -> Picture:
    """The image's size and digest: from the index while the file's size and time are those recorded, else
    read from the file."""
    if known and known["stat"] == stat:
        return Picture(path, known["width"], known["height"], known["digest"],
                       copy_widths(known["width"]), known["problem"])
    # Pillow only when an image must be read: a rebuild with nothing changed never loads it
    from PIL import Image, ImageOps, UnidentifiedImageError
    data = source.read_bytes()
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    try:
        with Image.open(source) as image:
            image.load()
            width, height = image.size
            if image.getexif().get(ImageOps.ExifTags.Base.Orientation) in _TURNED:
                width, height = height, width
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return Picture(path, digest=digest, problem=f"not an image Pillow can read ({exc})")
    return Picture(path, width, height, digest, copy_widths(width))


def _content_files(cache: Path, picture: Picture) -> list[tuple[Path, int, str]]:
    """(file in the cache, width, format) of each copy of the picture, named by its content."""
    ext = splitext(picture.path)[1].lower()
    files = []
    for width in picture.widths:
        for suffix in (ext, ".webp"):
            files.append((cache / "content" / f"{picture.digest}-{width}{suffix}", width, _FORMATS[suffix]))
    return files


def _resize(item: tuple[Path, Path, int, str]) -> None:
    """Write one copy: the source at `width` pixels wide in `fmt` (written beside and renamed into place)."""
    from PIL import Image, ImageOps
    source, target, width, fmt = item
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with Image.open(source) as original:
        image = ImageOps.exif_transpose(original)  # as a browser shows the original: a phone's photo upright
        if image.width == width and original.format == fmt:  # the original itself, as it is
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
            return
        if image.width != width:
            image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
        if fmt == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(temporary, fmt, **_SAVE_OPTIONS[fmt])
    os.replace(temporary, target)


def _link_site_folder(cache: Path, pictures) -> None:
    """Make `site/` hold exactly the current copies under their names in the site (hard links to the content
    files, or copies where links cannot be made), and drop content files no image uses any more."""
    site, wanted = cache / "site", {}
    for picture in pictures:
        if picture.problem:
            continue
        ext = splitext(picture.path)[1].lower()
        for target, width, fmt in _content_files(cache, picture):
            wanted[copy_path(picture.path, width, ".webp" if fmt == "WEBP" else splitext(picture.path)[1])] = target
        email_width = max(w for w in picture.widths if w <= EMAIL_WIDTH)
        wanted[email_copy_path(picture.path)] = cache / "content" / f"{picture.digest}-{email_width}{ext}"
    for path, target in wanted.items():
        _link(target, site / path)
    _remove_others(site, set(wanted))
    _remove_others(cache / "content", {target.name for target in wanted.values()}, flat=True)


def _link(target: Path, link: Path) -> None:
    try:
        if link.stat().st_ino == target.stat().st_ino:
            return
    except FileNotFoundError:
        link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    try:
        os.link(target, temporary)
    except OSError:
        shutil.copy2(target, temporary)
    os.replace(temporary, link)


def _remove_others(folder: Path, keep: set[str], flat: bool = False) -> None:
    """Delete the files in `folder` (a folder of the cache's own) that are not in `keep`."""
    for entry in folder.rglob("*") if folder.is_dir() else ():
        name = entry.name if flat else entry.relative_to(folder).as_posix()
        if entry.is_file() and name not in keep:
            entry.unlink()


def _load_index(cache: Path) -> dict:
    try:
        index = json.loads((cache / INDEX).read_text(encoding="utf-8"))
        return index if isinstance(index, dict) else {}
    except (OSError, ValueError):
        return {}


def _entry(picture: Picture, stat: list[int]) -> dict:
    """What the index records of an image: its size and time, with what was measured."""
    return {"stat": stat, "width": picture.width, "height": picture.height, "digest": picture.digest,
            "problem": picture.problem}


def _save_index(cache: Path, index: dict) -> None:
    """Record each image's size and time with what was measured, so the next build need not read it, and the
    fingerprint of the images whose copies are all made."""
    cache.mkdir(parents=True, exist_ok=True)
    temporary = cache / f".{INDEX}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(index), encoding="utf-8")
    os.replace(temporary, cache / INDEX)
