"""Find the photos and videos under a folder.

The kind of a file (photo or video, and its container format) comes from its first bytes, not its
name: phones and messengers save PNGs as .jpg, HEICs as .jpeg and so on. A file with a media suffix
whose bytes are not media (zero bytes, random bytes, a text file) is reported as an error; a file with
no media suffix is kept only when its bytes say it is media.

The walk follows symlinked folders and files inside the scanned folder, but not those whose target lies
outside it (a link to / would profile the whole disk) unless asked; it never enters the same folder twice
(no loops), counts a file reached through several links once, skips hidden entries and thumbnail caches
unless asked, and applies include / exclude globs.

A caller that already knows some files (the scan's cache) passes `known`: a file whose display path,
size and mtime it knows is not opened; its kind and format are the known ones. That is the cache's own
test of an unchanged file, so a file rewritten with its size and mtime restored keeps its old kind, as
it keeps its old facts; every other file (new, renamed, or with another size or mtime) is sniffed.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from galprof.facts import ScanError

PHOTO_SUFFIXES = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".heic", ".heif", ".hif", ".avif", ".webp", ".tif", ".tiff",
    ".bmp", ".dib", ".gif",
}
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".qt", ".3gp", ".3g2", ".mkv", ".avi", ".webm"}
MEDIA_SUFFIXES = PHOTO_SUFFIXES | VIDEO_SUFFIXES

# Folders that hold generated copies of the gallery (thumbnails, resource forks, NAS indexes, trash),
# never the user's own media: skipped even with include_hidden.
CACHE_DIRS = {
    ".thumbnails", ".thumbs", "thumbs", ".thumbnail", "@eadir", ".@__thumb", "__macosx", ".appledouble",
    "$recycle.bin", "#recycle", "#snapshot", ".trash", ".trashes", "system volume information",
    ".fseventsd", ".spotlight-v100", ".photoslibrary-thumbs",
}

# ISO-BMFF (MP4/MOV/HEIF) major/compatible brands that mean a still image.
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
AVIF_BRANDS = {b"avif", b"avis"}
# Brands of a movie: a file listing one of them is a video even when it also lists a HEIF/AVIF brand.
VIDEO_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"qt  ", b"M4V "}
# QuickTime files may start with one of these atoms instead of `ftyp`.
QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot", b"uuid"}

# TIFF- or ISO-BMFF-based files that are not photos/videos we can read: camera RAW (a TIFF header with a
# thumbnail in IFD0, or Canon's `crx ` brand) and MP4 audio. Their bytes would otherwise look like media.
RAW_SUFFIXES = {".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2", ".raf", ".pef",
                ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".dcr", ".mos", ".mrw"}
NON_VISUAL_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"crx ", b"F4A ", b"F4B "}

# The names a format may have without a mismatch note (MP4 and QuickTime are interchangeable).
FORMAT_SUFFIXES = {
    "jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"}, "png": {".png"}, "gif": {".gif"}, "tiff": {".tif", ".tiff"},
    "bmp": {".bmp", ".dib"}, "webp": {".webp"}, "heic": {".heic", ".heif", ".hif"}, "avif": {".avif"},
    "avi": {".avi"}, "mkv": {".mkv", ".webm"}, "webm": {".webm", ".mkv"},
    "mp4": {".mp4", ".m4v", ".mov", ".3gp", ".3g2", ".qt"}, "mov": {".mov", ".qt", ".mp4", ".m4v"},
    "3gp": {".3gp", ".3g2", ".mp4"},
}

HEAD_BYTES = 64

# (display path, size, mtime) -> (kind, format) of a file the caller knows unchanged, else None.
KnownKind = Callable[[str, int, float], tuple[str, str] | None]


@dataclass
class MediaItem:
    """A file that looks like media. `path` is the filesystem path (str, surrogate-escaped when the
    name is not UTF-8); `display` is `display_path(path)`: safe to print and store, and one-to-one
    with `path`, so it is also the file's key in the cache."""

    path: str
    display: str
    kind: str  # "photo" or "video"
    format: str  # "jpeg", "png", "heic", "mp4", "mov", "mkv", ...
    size: int
    mtime: float


def display_path(path: str) -> str:
    """A printable, UTF-8-encodable form of a path; identical to `path` for ordinary names.

    A path that is not valid UTF-8 or that holds a backslash is escaped: each byte that is not UTF-8
    becomes \\xNN and each backslash is doubled. Unescaped forms hold no backslash, so no two paths
    share a form: a file named caf<0xE9>.jpg is shown caf\\xe9.jpg and a file literally named
    caf\\xe9.jpg is shown caf\\\\xe9.jpg. `real_path` reverses it.
    """
    if "\\" not in path:
        try:
            path.encode("utf-8")
            return path
        except UnicodeEncodeError:
            pass
    return os.fsencode(path).replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def real_path(display: str) -> str:
    """The filesystem path (surrogate-escaped str) of a `display_path` form."""
    if "\\" not in display:
        return display
    raw, i, text = bytearray(), 0, display.encode("utf-8")
    while i < len(text):
        if text[i:i + 2] == b"\\\\":
            raw += b"\\"
            i += 2
        elif text[i:i + 2] == b"\\x" and len(text) >= i + 4:
            raw.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            raw.append(text[i])
            i += 1
    return os.fsdecode(bytes(raw))


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, format) from a file's first bytes, or None when they are not a media format we read."""
    if head.startswith(b"\xff\xd8\xff"):
        return "photo", "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "photo", "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "photo", "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "photo", "tiff"
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56,
                                                                                            64, 108, 124):
        return "photo", "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "photo", "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video", "avi"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska or WebM; the DocType says which
        return "video", "webm" if b"webm" in head else "mkv"
    if head[4:8] == b"ftyp":
        major = head[8:12]
        if major in NON_VISUAL_BRANDS:
            return None
        box_size = int.from_bytes(head[0:4], "big")
        brands = {major} | {head[i:i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
        if major in AVIF_BRANDS or (brands & AVIF_BRANDS and not brands & VIDEO_BRANDS):
            return "photo", "avif"
        if major in HEIF_BRANDS or (brands & HEIF_BRANDS and not brands & VIDEO_BRANDS):
            return "photo", "heic"
        if major == b"qt  ":
            return "video", "mov"
        if major.startswith(b"3g"):
            return "video", "3gp"
        return "video", "mp4"
    if head[4:8] in QT_ATOMS and int.from_bytes(head[0:4], "big") >= 8:
        return "video", "mov"
    return None


def _suffix(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _matches(rel: str, name: str, patterns: Sequence[str]) -> bool:
    """Case-insensitive, like phone file names (IMG_0001.JPG matches "*.jpg")."""
    rel, name = rel.lower(), name.lower()
    return any(fnmatch.fnmatchcase(rel, p.lower()) or fnmatch.fnmatchcase(name, p.lower()) for p in patterns)


def _read_head(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


@dataclass
class DiscoverNote:
    """A remark about the walk that is not a failure (e.g. a symlink leaving the folder, not followed)."""

    path: str
    reason: str


def discover(folder: str | os.PathLike, include: Sequence[str] = (), exclude: Sequence[str] = (),
             include_hidden: bool = False, follow_links: bool = False, known: KnownKind | None = None,
             ) -> Iterator[MediaItem | ScanError | DiscoverNote]:
    """Walk `folder` (sorted, deterministic) and yield a MediaItem per media file, a ScanError
    (stage "discover") for a file that has a media name but cannot be read or is not media, and a
    DiscoverNote per symlink whose target is outside `folder` (not followed unless follow_links).

    Globs match the path relative to `folder` (with "/") or the bare name; an exclude that matches a
    folder prunes it. Paths are absolute. The walk is iterative (an explicit stack), so folders nested
    thousands deep (or /proc) cannot exhaust Python's recursion limit. `known` (see the module's
    docstring) spares opening the files it knows.
    """
    root = os.path.abspath(os.fspath(folder))
    walk = _Walk(root, include, exclude, include_hidden, follow_links, known)
    root_stat = os.stat(root)
    walk.seen.add((root_stat.st_dev, root_stat.st_ino))
    # depth first, files of a folder before its subfolders, siblings in name order: the stack holds
    # (path, rel) of folders still to walk, the next one on top
    stack: list[tuple[str, str]] = [(root, "")]
    first = True
    while stack:
        directory, rel_dir = stack.pop()
        if not first:
            try:
                st = os.stat(directory)
            except OSError as exc:
                yield ScanError(display_path(directory), "discover", f"cannot open folder: {exc.strerror or exc}")
                continue
            key = (st.st_dev, st.st_ino)
            if key in walk.seen:  # a symlink loop or a second link to a folder already walked
                continue
            walk.seen.add(key)
        first = False
        subdirs: list[tuple[str, str]] = []
        yield from walk.folder(directory, rel_dir, subdirs)
        stack.extend(reversed(subdirs))


class _Walk:
    """The rules of one walk: filters, the (dev, inode) pairs seen, and the symlink policy."""

    def __init__(self, root: str, include: Sequence[str], exclude: Sequence[str], include_hidden: bool,
                 follow_links: bool, known: KnownKind | None = None) -> None:
        self.include, self.exclude, self.include_hidden = include, exclude, include_hidden
        self.follow_links, self.known = follow_links, known
        self.real_root = os.path.realpath(root)
        self.seen: set[tuple[int, int]] = set()

    def outside(self, path: str) -> str | None:
        """The resolved target of symlink `path` when it lies outside the scanned folder, else None."""
        target = os.path.realpath(path)
        if target == self.real_root or target.startswith(self.real_root.rstrip("/") + "/"):
            return None
        return target

    def folder(self, directory: str, rel_dir: str,
               subdirs: list[tuple[str, str]]) -> Iterator[MediaItem | ScanError | DiscoverNote]:
        """Yield the files of one folder; append its subfolders to walk (sorted) to `subdirs`."""
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield ScanError(display_path(directory), "discover", f"cannot list folder: {exc.strerror or exc}")
            return
        for entry in entries:
            name = entry.name
            rel = f"{rel_dir}{name}"
            if name.startswith(".") and not self.include_hidden:
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir and (name.lower() in CACHE_DIRS or (self.exclude and _matches(rel, name, self.exclude))):
                continue
            if not self.follow_links and _is_link(entry) and (target := self.outside(entry.path)):
                if is_dir or self._wanted(rel, name):
                    yield DiscoverNote(display_path(entry.path), "symlink to outside the scanned folder, not "
                                       f"followed: {display_path(target)}; use --follow-links")
                continue
            if is_dir:
                subdirs.append((entry.path, rel + "/"))
            elif (found := _file(entry, rel, self)) is not None:
                yield found

    def _wanted(self, rel: str, name: str) -> bool:
        """Whether a file link would have been looked at (so that notes obey the globs too)."""
        if self.include and not _matches(rel, name, self.include):
            return False
        if self.exclude and _matches(rel, name, self.exclude):
            return False
        return _suffix(name) in MEDIA_SUFFIXES


def _is_link(entry: os.DirEntry) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _file(entry: os.DirEntry, rel: str, walk: _Walk) -> MediaItem | ScanError | None:
    """The media item of one file, its error (only for a file with a media name), or None."""
    path, name = entry.path, entry.name
    if walk.include and not _matches(rel, name, walk.include):
        return None
    if walk.exclude and _matches(rel, name, walk.exclude):
        return None
    suffix = _suffix(name)
    if suffix in RAW_SUFFIXES:
        return None
    media_name = suffix in MEDIA_SUFFIXES
    shown = display_path(path)
    try:
        st = entry.stat(follow_symlinks=True)
    except OSError as exc:
        why = "dangling symlink" if entry.is_symlink() else f"cannot stat: {exc.strerror or exc}"
        return ScanError(shown, "discover", why) if media_name else None
    if not stat.S_ISREG(st.st_mode):
        return ScanError(shown, "discover", "not a regular file") if media_name else None
    if (st.st_dev, st.st_ino) in walk.seen:  # a second link to a file already found: count it once
        return None
    walk.seen.add((st.st_dev, st.st_ino))
    if st.st_size == 0:
        return ScanError(shown, "discover", "empty file (0 bytes)") if media_name else None
    kind_format = walk.known(shown, st.st_size, st.st_mtime) if walk.known is not None else None
    if kind_format is None:
        try:
            kind_format = sniff(_read_head(path))
        except OSError as exc:
            return ScanError(shown, "discover", f"cannot read: {exc.strerror or exc}") if media_name else None
        if kind_format is None:
            return (ScanError(shown, "discover", f"not a photo or video (unrecognized content, {st.st_size} "
                              "bytes)") if media_name else None)
    kind, fmt = kind_format
    return MediaItem(path=path, display=shown, kind=kind, format=fmt, size=st.st_size, mtime=st.st_mtime)


def suffix_mismatch(item: MediaItem) -> str | None:
    """A note when the file name says another format than its bytes (e.g. a PNG named .jpg)."""
    suffix = _suffix(item.path)
    if not suffix or suffix not in MEDIA_SUFFIXES:
        return None
    if suffix in FORMAT_SUFFIXES.get(item.format, ()):
        return None
    return f"named {suffix} but the content is {item.format}; read as {item.format}"
