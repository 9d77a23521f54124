"""askfiles.toml (in the corpus folder or --config) and CORS on the API."""

from __future__ import annotations

import re

import pytest

from askfiles import cli, create_app
from askfiles.config import load_config


@pytest.fixture()
def corpus(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.txt").write_text("Mill\n\nThe old mill closed in 1911 after a fire.\n")
    return root


def test_toml_in_the_corpus_folder_is_read_and_variables_win(corpus):
    (corpus / "askfiles.toml").write_text(
        'retrieve_depth = 5\nno_answer_threshold = 0.5\nindex_dir = "idx"\n')
    cfg = load_config({"corpus": str(corpus)}, environ={})
    assert cfg["retrieve_depth"] == 5 and cfg["no_answer_threshold"] == 0.5
    assert cfg["index_dir"] == str(corpus / "idx")          # relative to the file
    assert cfg["config"] == str(corpus / "askfiles.toml")
    cfg = load_config({"corpus": str(corpus)}, environ={"ASKFILES_RETRIEVE_DEPTH": "9"})
    assert cfg["retrieve_depth"] == 9 and cfg["no_answer_threshold"] == 0.5
    cfg = load_config({"corpus": str(corpus), "retrieve_depth": 3}, environ={})
    assert cfg["retrieve_depth"] == 3


def test_the_settings_file_is_not_a_document(corpus):
    (corpus / "askfiles.toml").write_text("retrieve_depth = 5\n")
    app = create_app({"corpus": str(corpus), "poll_seconds": 0, "TESTING": True})
    health = app.test_client().get("/healthz").get_json()
    assert (health["documents"], health["skipped"]) == (1, 0)


def test_config_option_names_a_file_anywhere(corpus, tmp_path, capsys):
    conf = tmp_path / "elsewhere.toml"
    conf.write_text(f'corpus = "{corpus.name}"\nno_answer_threshold = 0.99\n')
    cfg = load_config({"config": str(conf)}, environ={})
    assert cfg["corpus"] == str(corpus) and cfg["no_answer_threshold"] == 0.99
    # The threshold from the file makes the answer too weak: exit status 1.
    assert cli.main(["ask", "When did the mill close?", "--config", str(conf)]) == 1


@pytest.mark.parametrize("text, message", [
    ("retrieve_depht = 5\n", "unknown setting 'retrieve_depht' (did you mean "
     "'retrieve_depth'?); the settings are corpus, "),
    ('retrieve_depth = "many"\n', "retrieve_depth = 'many' is not an integer"),
    ("retrieve_depth = 2.5\n", "retrieve_depth = 2.5 is not an integer"),
    ("retrieve_depth = [1]\n", "retrieve_depth must be an integer"),
    ("retrieve_depth = \n", "not valid TOML"),
])
def test_bad_settings_files_say_what_is_wrong(corpus, text, message, capsys):
    (corpus / "askfiles.toml").write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_config({"corpus": str(corpus)}, environ={})
    assert cli.main(["ask", "When?", "--corpus", str(corpus)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("environ, message", [
    ({"ASKFILES_RETRIEVE_DEPTH": "many"},
     "ASKFILES_RETRIEVE_DEPTH='many' is not an integer: passages taken from BM25 before "
     "reranking. Unset it or give an integer."),
    ({"ASKFILES_POLL_SECONDS": "soon"},
     "ASKFILES_POLL_SECONDS='soon' is not a number: how often the server checks the corpus "
     "for changes (0 turns it off). Unset it or give a number."),
    ({"ASKFILES_MAX_FILE_MB": "2.5.1"}, "is not a number"),
])
def test_bad_variables_say_what_is_wrong(tmp_path, environ, message):
    with pytest.raises(ValueError) as caught:
        load_config({"corpus": str(tmp_path)}, environ=environ)
    assert message in str(caught.value)


@pytest.mark.parametrize("overrides, message", [
    ({"retrieve_depth": "x"}, "argument retrieve_depth='x' is not an integer: "
     "passages taken from BM25 before reranking"),
    ({"retrieve_depth": 2.5}, "argument retrieve_depth=2.5 is not an integer"),
    ({"retrieve_depth": True}, "argument retrieve_depth=True is not an integer"),
    ({"max_file_mb": [20]}, "argument max_file_mb=[20] is not a number"),
    ({"no_answer_threshold": "high"}, "argument no_answer_threshold='high' is not a number"),
])
def test_bad_arguments_say_what_is_wrong(tmp_path, overrides, message):
    with pytest.raises(ValueError) as caught:
        load_config({"corpus": str(tmp_path), **overrides}, environ={})
    assert message in str(caught.value)


def test_arguments_are_converted_like_the_file_and_variables(tmp_path):
    cfg = load_config({"corpus": tmp_path, "retrieve_depth": "5", "max_file_mb": 3,
                       "no_answer_threshold": None, "rate_limit": 7.0}, environ={})
    assert cfg["corpus"] == str(tmp_path)
    assert (cfg["retrieve_depth"], cfg["max_file_mb"], cfg["rate_limit"]) == (5, 3.0, 7)
    assert type(cfg["max_file_mb"]) is float and type(cfg["rate_limit"]) is int
    assert cfg["no_answer_threshold"] == -1.0      # None: as if not given
    again = load_config({**cfg, "read_only": True}, environ={})   # other keys pass through
    assert again == {**cfg, "read_only": True}


@pytest.mark.parametrize("where, name, value, message", [
    ("variable", "retrieve_depth", "0", "ASKFILES_RETRIEVE_DEPTH='0' is out of range; "
     "it must be 1 or more: passages taken from BM25 before reranking"),
    ("variable", "no_answer_threshold", "2", "ASKFILES_NO_ANSWER_THRESHOLD='2' is out of "
     "range; it must be from 0 to 1, or -1: answers below this confidence"),
    ("variable", "no_answer_threshold", "-0.5", "it must be from 0 to 1, or -1"),
    ("variable", "no_answer_threshold", "nan", "it must be from 0 to 1, or -1"),
    ("variable", "poll_seconds", "-1", "ASKFILES_POLL_SECONDS='-1' is out of range; "
     "it must be 0 or more"),
    ("file", "max_file_mb", "0", "askfiles.toml: max_file_mb = 0 is out of range; "
     "it must be more than 0: larger corpus files are skipped"),
    ("file", "max_doc_chars", "0", "max_doc_chars = 0 is out of range; it must be 1 or more"),
    ("file", "annotate_processes", "-2", "annotate_processes = -2 is out of range; "
     "it must be 0 or more"),
    ("file", "retrieve_depth", "0", "retrieve_depth = 0 is out of range"),
    ("argument", "rate_limit", -5, "argument rate_limit=-5 is out of range; "
     "it must be 0 or more: requests per minute"),
    ("argument", "max_file_mb", float("inf"), "argument max_file_mb=inf is out of range"),
    ("argument", "max_question_chars", 0, "max_question_chars=0 is out of range; "
     "it must be 1 or more"),
    ("argument", "max_body_bytes", 0, "max_body_bytes=0 is out of range"),
    ("argument", "sparse_threshold", -1, "sparse_threshold=-1 is out of range; "
     "it must be 0 or more"),
    ("argument", "no_answer_threshold", 1.5, "argument no_answer_threshold=1.5 is out of "
     "range; it must be from 0 to 1, or -1"),
])
def test_values_out_of_range_say_where_and_what_is_allowed(corpus, where, name, value,
                                                           message):
    overrides, environ = {"corpus": str(corpus)}, {}
    if where == "variable":
        environ["ASKFILES_" + name.upper()] = value
    elif where == "file":
        (corpus / "askfiles.toml").write_text(f"{name} = {value}\n")
    else:
        overrides[name] = value
    with pytest.raises(ValueError) as caught:
        load_config(overrides, environ=environ)
    assert message in str(caught.value)


@pytest.mark.parametrize("name, value", [
    ("no_answer_threshold", -1), ("no_answer_threshold", 0), ("no_answer_threshold", 1),
    ("retrieve_depth", 1), ("poll_seconds", 0), ("rate_limit", 0),
    ("annotate_processes", 0), ("sparse_threshold", 0), ("max_file_mb", 0.01),
])
def test_edge_and_special_values_are_kept(corpus, name, value):
    assert load_config({"corpus": str(corpus), name: value}, environ={})[name] == value
    environ = {"ASKFILES_" + name.upper(): str(value)}
    assert load_config({"corpus": str(corpus)}, environ=environ)[name] == value


def test_the_readme_shows_the_settings_table():
    from askfiles.config import settings_table
    from conftest import ROOT

    assert settings_table() in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_settings_table_shows_every_value_in_markdown():
    """An empty default printed as `` (two backticks on the page, no code span), and
    <id> and <token> of a help taken for HTML tags (not shown at all), read wrong."""
    import re

    from askfiles.config import settings_table

    table = settings_table()
    assert "``" not in table
    outside_code = re.sub(r"`[^`]*`", "", table)
    assert not re.search(r"<[A-Za-z/!]", outside_code), outside_code


def test_missing_config_file_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["ask", "When?", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read the config file" in capsys.readouterr().err


@pytest.mark.parametrize("config, message", [
    ({"corpuss": "docs"}, "create_app: unknown config key 'corpuss' (did you mean 'corpus'?); "
                          "the keys are the settings corpus, index_dir, "),
    ({"poll_second": 0}, "unknown config key 'poll_second' (did you mean 'poll_seconds'?)"),
    ({"enigne": None}, "unknown config key 'enigne' (did you mean 'engine'?)"),
    ({"CORPUS": "docs"}, "unknown config key 'CORPUS' (askfiles keys are lower case: "
                         "'corpus')"),
    ({"ASKFILES_POLL_SECONDS": 0}, "unknown config key 'ASKFILES_POLL_SECONDS' (askfiles "
                                   "keys are lower case: 'poll_seconds')"),
    ({"Testing": True}, "unknown config key 'Testing'; "),
    ({"xyzzy": 1}, "config (a settings file), engine or holder (an Engine or EngineHolder "
                   "to serve), read_only and start_from_published (set by askfiles serve); "
                   "and upper-case Flask settings such as TESTING"),
])
def test_create_app_refuses_unknown_keys(seed_engine, config, message):
    """A misspelt key was passed through and ignored: the app ran on the defaults."""
    with pytest.raises(ValueError) as caught:
        create_app({"engine": seed_engine, "TESTING": True, **config})
    assert message in str(caught.value)
    assert "retrieve_depth, no_answer_threshold" in str(caught.value)


def test_create_app_takes_settings_files_flask_settings_and_what_serve_passes(
        seed_engine, tmp_path):
    from askfiles import _check_keys

    conf = tmp_path / "settings.toml"
    conf.write_text("retrieve_depth = 5\n")
    app = create_app({"engine": seed_engine, "config": str(conf), "Poll_Seconds": 0,
                      "TESTING": True, "SECRET_KEY": "s"})
    assert app.config["ASKFILES"]["retrieve_depth"] == 5
    assert app.config["ASKFILES"]["poll_seconds"] == 0
    assert app.testing and app.config["SECRET_KEY"] == "s"
    # askfiles serve: load_config's settings (and config), then one of these.
    _check_keys({**load_config({"config": str(conf)}), "read_only": True,
                 "start_from_published": True, "holder": None})


@pytest.fixture()
def cors_client(seed_engine):
    app = create_app({"engine": seed_engine, "cors_origins": "https://app.example, "
                      "https://other.example", "TESTING": True})
    return app.test_client()


def test_cors_on_the_api_for_listed_origins_only(cors_client):
    ok = {"Origin": "https://app.example"}
    resp = cors_client.get("/api/ask?q=When+did+Cairncross+die%3F", headers=ok)
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-Request-Id" in resp.headers["Access-Control-Expose-Headers"]
    pre = cors_client.options("/api/documents/x.txt", headers={
        **ok, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert pre.status_code == 200
    assert "PUT" in pre.headers["Access-Control-Allow-Methods"]
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"].lower()
    bad = cors_client.get("/api/documents", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in bad.headers
    page = cors_client.get("/", headers=ok)
    assert "Access-Control-Allow-Origin" not in page.headers     # the API only


def test_a_plain_options_is_204_and_a_preflight_as_before(cors_client):
    ok = {"Origin": "https://app.example"}
    pre = cors_client.options("/api/ask", headers={
        **ok, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 200                    # flask-cors's preflight, unchanged
    assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert pre.headers["Access-Control-Max-Age"] == "600"
    plain = cors_client.options("/api/ask", headers=ok)    # not a preflight
    assert plain.status_code == 204
    assert plain.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert plain.headers["Access-Control-Allow-Origin"] == "https://app.example"


def test_no_cors_by_default(seed_engine):
    client = create_app({"engine": seed_engine, "TESTING": True}).test_client()
    resp = client.get("/api/documents", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
