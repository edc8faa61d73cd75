from alembic.config import Config
from alembic.script import ScriptDirectory

from webapp.settings import ROOT


def test_migrations_have_a_single_head():
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_procfile_runs_migrations_on_release_not_at_boot():
    procfile = (ROOT / "Procfile").read_text()
    assert "release:" in procfile and "db upgrade" in procfile
    assert "upgrade" not in (ROOT / "webapp" / "__init__.py").read_text()
