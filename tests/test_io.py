"""archcalc._io: atomic, no-clobber writes that never replace a link, FIFO or device node."""

from __future__ import annotations

import os
import stat

import pytest

from archcalc._io import OutputExistsError, OutputPathError, write_atomic, write_output


def names(path):
    return sorted(p.name for p in path.iterdir())


def test_new_file_then_refused_then_forced(tmp_path):
    target = tmp_path / "out.txt"
    write_atomic(target, "one\n")
    assert target.read_text() == "one\n" and names(tmp_path) == ["out.txt"]
    with pytest.raises(OutputExistsError):
        write_atomic(target, "two\n")
    assert target.read_text() == "one\n" and names(tmp_path) == ["out.txt"]  # no temp file left
    os.chmod(target, 0o640)
    write_atomic(target, "three\n", force=True)
    assert target.read_text() == "three\n" and stat.S_IMODE(os.stat(target).st_mode) == 0o640  # mode kept


def test_a_name_that_appears_while_writing_is_not_clobbered(tmp_path, monkeypatch):
    target = tmp_path / "race.txt"
    real_link = os.link

    def racing_link(src, dst):  # another process creates the name between our check and our rename
        with open(dst, "w") as f:
            f.write("theirs\n")
        return real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(OutputExistsError):
        write_atomic(target, "ours\n")
    assert target.read_text() == "theirs\n" and names(tmp_path) == ["race.txt"]


def test_without_hard_links_the_check_still_holds(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "fs.txt"
    write_atomic(target, "a\n")
    assert target.read_text() == "a\n" and names(tmp_path) == ["fs.txt"]
    with pytest.raises(OutputExistsError):
        write_atomic(target, "b\n")


def test_symlinks_are_written_through_only_with_force(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real.name)
    with pytest.raises(OutputExistsError):
        write_atomic(link, "new\n")
    write_atomic(link, "new\n", force=True)
    assert link.is_symlink() and real.read_text() == "new\n"
    dangling = tmp_path / "dangling"
    dangling.symlink_to("nowhere")
    for force in (False, True):
        with pytest.raises(OutputPathError, match="dangling"):
            write_atomic(dangling, "x", force=force)
    assert dangling.is_symlink() and not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("force", [False, True])
def test_special_files_are_never_replaced(tmp_path, force):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputPathError, match="FIFO"):
        write_atomic(fifo, "x", force=force)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    with pytest.raises(OutputPathError, match="character device"):
        write_atomic("/dev/null", "x", force=force)
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    with pytest.raises(OutputPathError, match="directory"):
        write_atomic(tmp_path, "x", force=force)
    link = tmp_path / "to_dev"
    link.symlink_to("/dev/null")
    with pytest.raises(OutputPathError, match="symlink to a character device"):
        write_atomic(link, "x", force=force)
    with pytest.raises(OutputPathError, match="empty"):
        write_atomic("", "x", force=force)


def test_dash_is_standard_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert write_output("-", "to stdout\n") is None
    assert capsys.readouterr().out == "to stdout\n" and names(tmp_path) == []


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("keep\n")

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OutputPathError, match="No space left"):
        write_atomic(target, "new\n", force=True)
    assert target.read_text() == "keep\n" and names(tmp_path) == ["out.txt"]
