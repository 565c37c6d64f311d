"""The SQLite-to-psycopg statement translation the PostgreSQL backend runs every statement
through: placeholders, literals and comments, and how parameters are passed."""

from __future__ import annotations

import pytest

from appliance.store.sqltext import SqlTextError, translate


def test_question_marks_in_order_become_percent_s_and_keep_the_tuple():
    statement = translate("SELECT a FROM t WHERE b = ? AND c IN (?, ?)")
    assert statement.text == "SELECT a FROM t WHERE b = %s AND c IN (%s, %s)"
    assert statement.parameters((1, 2, 3)) == (1, 2, 3)


def test_numbered_parameters_are_named_by_number_and_may_repeat():
    statement = translate("SELECT ?1, ?2 WHERE x = ?1")
    assert statement.text == "SELECT %(p1)s, %(p2)s WHERE x = %(p1)s"
    assert statement.parameters(("a", "b")) == {"p1": "a", "p2": "b"}


def test_a_bare_mark_after_numbered_ones_takes_the_next_number_as_sqlite_does():
    # threads.unread: ?1 twice around an IN list of bare marks.
    statement = translate("SELECT ?1 WHERE r IN (?, ?) AND u = ?1")
    assert statement.text == "SELECT %(p1)s WHERE r IN (%(p2)s, %(p3)s) AND u = %(p1)s"
    assert statement.parameters((7, 8, 9)) == {"p1": 7, "p2": 8, "p3": 9}


def test_named_parameters_keep_their_names_and_mapping():
    statement = translate("SELECT * FROM m WHERE chat_id = :chat AND id < :before")
    assert statement.text == "SELECT * FROM m WHERE chat_id = %(chat)s AND id < %(before)s"
    assert statement.parameters({"chat": 1, "before": 2}) == {"chat": 1, "before": 2}


def test_strings_names_and_comments_are_not_scanned_but_their_percent_is_doubled():
    sql = (
        "SELECT 'a?b :c it''s 100%', \"odd?name\" -- why? 5% :x\n"
        "/* ?1 :y % */ FROM t WHERE x LIKE ? ESCAPE '\\'"
    )
    statement = translate(sql)
    assert statement.text == (
        "SELECT 'a?b :c it''s 100%%', \"odd?name\" -- why? 5%% :x\n"
        "/* ?1 :y %% */ FROM t WHERE x LIKE %s ESCAPE '\\'"
    )


def test_a_percent_in_the_statement_itself_is_doubled_and_casts_are_not_names():
    statement = translate("SELECT a % 2, b::text, :n::bigint FROM t")
    assert statement.text == "SELECT a %% 2, b::text, %(n)s::bigint FROM t"


def test_a_statement_without_parameters_is_unchanged():
    sql = "CREATE INDEX x ON t (a) WHERE b IS NULL"
    assert translate(sql).text == sql


def test_mixing_names_and_marks_is_refused():
    with pytest.raises(SqlTextError, match="mixes"):
        translate("SELECT :a, ?")


@pytest.mark.parametrize("sql", ["SELECT 'unterminated ?", "SELECT 1 -- ? at the end", "/* ?"])
def test_unterminated_quotes_and_comments_do_not_turn_into_parameters(sql):
    assert "%s" not in translate(sql).text
