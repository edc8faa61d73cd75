"""The web process must stay light: it never imports TensorFlow, and pages load no password lists or numpy."""
import subprocess
import sys

from webapp.settings import ROOT

PROBE = """
import sys
from webapp import create_app
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                  "INSTANCE_PATH": sys.argv[1], "CELERY_BROKER_URL": "memory://"})
with app.app_context():
    from webapp.extensions import db
    db.create_all()
client = app.test_client()
for path in ("/", "/login", "/register"):
    assert client.get(path).status_code in (200, 302), path
print("lists:" + ",".join(m for m in sys.modules if m.split(".")[0] in ("zxcvbn", "numpy")))
import workers.tasks  # the task module loads its models lazily: importing it loads no TensorFlow
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "keras_nlp", "keras_hub"))
print("heavy:" + ",".join(heavy))
"""


def test_web_process_never_imports_tensorflow(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    # stdout also carries the app's JSON log lines; the probe's answer is its own line.
    heavy = next(line for line in out.stdout.splitlines() if line.startswith("heavy:"))
    assert heavy == "heavy:", f"web process imported: {heavy[:300]}"


def test_serving_pages_loads_no_password_word_lists_and_no_numpy(tmp_path):
    """zxcvbn's 14 MB of word lists load when a password is set, not for every page; numpy (17 MB)
    is the worker's: the taxonomy the forms read is pure Python."""
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    lists = next(line for line in out.stdout.splitlines() if line.startswith("lists:"))
    assert lists == "lists:", f"web process imported: {lists[:300]}"
