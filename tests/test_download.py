"""Fetching and verifying the data files: local directories, a loopback HTTP server, failures."""

import gzip
import hashlib
import http.server
import threading
from functools import partial
from pathlib import Path

import pytest

import stages.download
from pipeline.data.fashion_mnist import IdxFile
from pipeline.data.sources import Source, fetch_verified, local_copy
from pipeline.errors import PipelineError, run
from tests.conftest import write_raw_dir

PAYLOAD = b"\x00\x00\x08\x01\x00\x00\x00\x03abc"  # a 3-label IDX file
FILE = IdxFile("labels-idx1-ubyte", len(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest())


class DroppingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files; /drop/ announces a length, sends half and closes the connection."""

    def do_GET(self):
        if self.path.startswith("/drop/"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + bytes(100))
            self.wfile.flush()
            self.connection.close()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(DroppingHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()


def put(directory: Path, payload: bytes = PAYLOAD) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILE.gz_name
    path.write_bytes(gzip.compress(payload))
    return path


def test_local_directory_source(tmp_path):
    put(tmp_path / "local")
    payload, source = fetch_verified(FILE, [Source("local", str(tmp_path / "local"))])
    assert payload == PAYLOAD and source.label == "local"


def test_url_source_on_loopback(server):
    url, root = server
    put(root)
    payload, source = fetch_verified(FILE, [Source("mirror", url, is_url=True)], timeout=5)
    assert payload == PAYLOAD and source.label == "mirror"


def test_failing_and_corrupt_sources_fall_through_to_a_good_one(tmp_path, server):
    url, root = server
    put(tmp_path / "corrupt", PAYLOAD[:-1] + b"X")
    put(root)
    sources = [
        Source("missing dir", str(tmp_path / "nowhere")),
        Source("corrupt copy", str(tmp_path / "corrupt")),
        Source("404", url + "absent/", is_url=True),
        Source("dropped mid-transfer", url + "drop/", is_url=True),
        Source("mirror", url, is_url=True),
    ]
    payload, source = fetch_verified(FILE, sources, timeout=5, attempts=1)
    assert payload == PAYLOAD and source.label == "mirror"


def test_a_refused_local_copy_is_reported_even_when_a_later_source_succeeds(tmp_path, capsys):
    put(tmp_path / "mine", PAYLOAD[:-1] + b"X")
    put(tmp_path / "good")
    sources = [Source("$FASHION_MNIST_DIR", str(tmp_path / "mine")), Source("good copy", str(tmp_path / "good"))]
    _, source = fetch_verified(FILE, sources, timeout=5, attempts=1)
    stderr = capsys.readouterr().err
    assert source.label == "good copy"
    assert f"{FILE.gz_name}: taken from good copy after trying:" in stderr
    assert "$FASHION_MNIST_DIR: " in stderr and "SHA-256 of the payload is" in stderr


def test_no_source_lists_every_failure(tmp_path, server):
    url, _ = server
    put(tmp_path / "corrupt", b"wrong paylo")  # right size, wrong bytes
    sources = [
        Source("missing dir", str(tmp_path / "nowhere")),
        Source("corrupt copy", str(tmp_path / "corrupt")),
        Source("dropped", url + "drop/", is_url=True),
        Source("unreachable", "http://127.0.0.1:9/", is_url=True),
    ]
    with pytest.raises(PipelineError) as error:
        fetch_verified(FILE, sources, timeout=2, attempts=2)
    message = str(error.value)
    assert message.startswith(f"no source has a verified copy of {FILE.gz_name}; tried:")
    assert "missing dir" in message and "No such file or directory" in message
    assert "corrupt copy" in message and f"expected {FILE.sha256}" in message
    assert "dropped" in message and "unreachable" in message
    assert "Connection refused" in message


def test_local_copy_finds_the_first_complete_directory(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline.data.sources.FILES", (FILE,))
    put(tmp_path / "good")
    put(tmp_path / "bad", b"nope")
    assert local_copy([tmp_path / "bad", tmp_path / "good"]) == tmp_path / "good"
    assert local_copy([tmp_path / "bad"]) is None


def run_download_stage(out: Path, sources: list[Source], files: tuple, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr(stages.download, "FILES", files)
    monkeypatch.setattr(stages.download, "default_sources", lambda: sources)
    monkeypatch.setattr("sys.argv", ["download", "--out", str(out)])
    code = 0
    try:
        run(stages.download.main)
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_stage_writes_verified_files_and_says_where_they_came_from(tmp_path, monkeypatch, capsys):
    put(tmp_path / "src")
    out = tmp_path / "raw"
    code, stdout, _ = run_download_stage(out, [Source("test dir", str(tmp_path / "src"))], (FILE,), monkeypatch, capsys)
    assert code == 0
    assert f"{FILE.gz_name}: verified, from test dir" in stdout
    assert gzip.decompress((out / FILE.gz_name).read_bytes()) == PAYLOAD
    assert [path.name for path in out.iterdir()] == [FILE.gz_name]


def test_stage_with_only_a_truncated_copy_fails_cleanly(tmp_path, monkeypatch, capsys):
    """Pointing the download at a truncated file: one error line, and no file left in data/raw."""
    source_dir = tmp_path / "src"
    good = tmp_path / "good"
    write_raw_dir(good)
    source_dir.mkdir()
    files = []
    for path in sorted(good.iterdir()):
        payload = gzip.decompress(path.read_bytes())
        files.append(IdxFile(path.name.removesuffix(".gz"), len(payload), hashlib.sha256(payload).hexdigest()))
        data = path.read_bytes()
        (source_dir / path.name).write_bytes(data[: len(data) // 2] if "train-images" in path.name else data)
    out = tmp_path / "raw"
    code, _, stderr = run_download_stage(out, [Source("test dir", str(source_dir))], tuple(files), monkeypatch, capsys)
    assert code == 1
    assert stderr.startswith("error: no source has a verified copy of train-images-idx3-ubyte.gz")
    assert "gzip stream is truncated" in stderr and "Traceback" not in stderr
    assert not (out / "train-images-idx3-ubyte.gz").exists()
    assert not list(out.glob(".*part")), "a temporary file was left behind"


def test_stage_reports_an_unwritable_output(tmp_path, monkeypatch, capsys):
    put(tmp_path / "src")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, stderr = run_download_stage(
        blocker / "raw", [Source("test dir", str(tmp_path / "src"))], (FILE,), monkeypatch, capsys
    )
    assert code == 1 and stderr.startswith(f"error: {blocker}") and "cannot write" in stderr
