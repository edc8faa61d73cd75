import pytest

from webapp.settings import database_url, load_settings


def test_platform_mysql_url_gets_the_connector_driver():
    url = database_url({"JAWSDB_URL": "mysql://u:p@db.example.com:3306/shop"})
    assert url == "mysql+mysqlconnector://u:p@db.example.com:3306/shop"


def test_database_url_wins_over_db_parts():
    env = {"DATABASE_URL": "mysql://a:b@h/d", "DB_HOST": "other"}
    assert database_url(env).startswith("mysql+mysqlconnector://a:b@h/d")


def test_db_parts_are_quoted():
    url = database_url({"DB_HOST": "h", "DB_USER": "u", "DB_PASSWORD": "p@ss/word", "DB_NAME": "shop"})
    assert url == "mysql+mysqlconnector://u:p%40ss%2Fword@h:3306/shop?charset=utf8mb4"


def test_no_servers_means_embedded_defaults(tmp_path):
    settings = load_settings({"INSTANCE_PATH": str(tmp_path)})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'jewellery.db'}"
    assert settings["CELERY_BROKER_URL"] == "filesystem://"
    assert settings["S3_BUCKET_NAME"] == ""


def test_production_refuses_to_start_without_a_secret():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_settings({"APP_ENV": "production"})
    settings = load_settings({"APP_ENV": "production", "SECRET_KEY": "s" * 32, "REDIS_URL": "redis://r:6379/0",
                              "METRICS_TOKEN": "t"})
    assert settings["SESSION_COOKIE_SECURE"] is True
