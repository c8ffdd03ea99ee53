"""safe_extract against hostile archives: nothing may land outside the target."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from recctl.stack.safe_tar import UnsafeArchiveError, safe_extract


def make_tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def file_member(name: str, data: bytes = b"x\n") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def special_member(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def chunks(data: bytes, size: int = 100) -> list[bytes]:
    """What the Docker SDK yields: the archive in small pieces."""
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.fixture()
def target(tmp_path: Path) -> Path:
    dest = tmp_path / "sandbox" / "dest"
    dest.mkdir(parents=True)
    return dest


def outside_files(tmp_path: Path, dest: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if p.is_file() and dest not in p.parents]


def test_extracts_log_files_and_strips_the_folder_name(target: Path) -> None:
    folder = tarfile.TarInfo("recctl")
    folder.type = tarfile.DIRTYPE
    data = make_tar([
        (folder, None),
        file_member("recctl/data.json", b'{"message": "next"}\n'),
        file_member("recctl/data.json.1", b'{"message": "last"}\n'),
    ])
    written = safe_extract(chunks(data), target, strip_prefix="recctl")
    assert [p.name for p in written] == ["data.json", "data.json.1"]
    assert (target / "data.json").read_text() == '{"message": "next"}\n'
    assert sorted(p.name for p in target.iterdir()) == ["data.json", "data.json.1"]


def test_reads_a_file_object_too(target: Path) -> None:
    data = make_tar([file_member("logs/data.json", b"{}\n")])
    safe_extract(io.BytesIO(data), target, strip_prefix="logs")
    assert (target / "data.json").read_text() == "{}\n"


@pytest.mark.parametrize("name", [
    "../escaped.json",
    "recctl/../../escaped.json",
    "recctl/sub/../../../escaped.json",
])
def test_refuses_dot_dot_paths(tmp_path: Path, target: Path, name: str) -> None:
    data = make_tar([file_member(name)])
    with pytest.raises(UnsafeArchiveError, match=r"\.\."):
        safe_extract(chunks(data), target)
    assert outside_files(tmp_path, target) == []


def test_refuses_absolute_paths(tmp_path: Path, target: Path) -> None:
    victim = tmp_path / "victim.json"
    data = make_tar([file_member(str(victim))])
    with pytest.raises(UnsafeArchiveError, match="absolute"):
        safe_extract(chunks(data), target)
    assert not victim.exists()


def test_refuses_members_outside_the_expected_folder(target: Path) -> None:
    data = make_tar([file_member("other/data.json")])
    with pytest.raises(UnsafeArchiveError, match="outside the expected folder"):
        safe_extract(chunks(data), target, strip_prefix="recctl")


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
@pytest.mark.parametrize("linkname", ["/etc/passwd", "../../outside.json", "data.json"])
def test_refuses_links(tmp_path: Path, target: Path, kind: bytes, linkname: str) -> None:
    """Links out are the attack; links inside are refused too (logs never need them)."""
    data = make_tar([
        file_member("recctl/data.json"),
        special_member("recctl/link.json", kind, linkname),
        # A file written through the link would land where the link points.
        file_member("recctl/link.json", b"overwritten\n"),
    ])
    with pytest.raises(UnsafeArchiveError, match="link"):
        safe_extract(chunks(data), target, strip_prefix="recctl")
    assert not (target / "link.json").exists()
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))
    assert outside_files(tmp_path, target) == []


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_refuses_devices_and_pipes(target: Path, kind: bytes) -> None:
    info, _ = special_member("recctl/null", kind)
    info.devmajor, info.devminor = 1, 3
    data = make_tar([(info, None)])
    with pytest.raises(UnsafeArchiveError, match="device or a pipe"):
        safe_extract(chunks(data), target, strip_prefix="recctl")
    assert list(target.iterdir()) == []


def test_does_not_write_through_a_symlinked_folder_in_the_target(
    tmp_path: Path, target: Path
) -> None:
    """A link already sitting in the target (planted earlier) is not followed out."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (target / "sub").symlink_to(outside)
    data = make_tar([file_member("sub/data.json")])
    with pytest.raises(UnsafeArchiveError, match="resolves outside"):
        safe_extract(chunks(data), target)
    assert list(outside.iterdir()) == []


def test_does_not_write_through_a_symlinked_file_in_the_target(
    tmp_path: Path, target: Path
) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("keep\n")
    (target / "data.json").symlink_to(target / "inner.json")
    (target / "inner.json").write_text("")
    # The link resolves inside, but O_NOFOLLOW still refuses to open it.
    data = make_tar([file_member("data.json", b"new\n")])
    with pytest.raises(UnsafeArchiveError, match="cannot be written"):
        safe_extract(chunks(data), target)
    assert (target / "inner.json").read_text() == ""
    assert victim.read_text() == "keep\n"
