#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""What the login window says to each answer of the login API."""

import fixtures

from tests import base
from tests.fixtures import thinclient as tc_fixture
from vdi_broker.loadgen import client as loadgen_client
from vdi_broker.thinclient import answers
from vdi_broker.thinclient import i18n


def outcome(status=None, kind=None, error=None, retry_after=None):
    body = {"error": dict({"code": status, "title": "x", "message": "m",
                           "request_id": "req-1"}, **(error or {}))} \
        if status else None
    return loadgen_client.Outcome(
        "login", kind or ("http %d" % status if status else "connection"),
        status, 0.0, 0.01, body, retry_after=retry_after)


# (outcome, expected key, expected Retry-After)
CASES = [
    (outcome(401), "wrong_password", None),
    (outcome(429, retry_after=60), "locked_out", 60),
    (outcome(403), "no_allocator", None),
    (outcome(404), "seat_unknown", None),
    (outcome(503, retry_after=15, error={"details": {
        "pool": "desks", "status": "active", "status_reason": None,
        "ready": 0, "building": 2}}), "pool_busy", 15),
    (outcome(503, error={"details": {"pool": "desks", "status": "disabled",
                                     "status_reason": "pool is disabled"}}),
     "pool_closed", None),
    (outcome(503, retry_after=15, error={"details": {"pool": "desks",
                                                     "tries": 2}}),
     "not_connected", 15),
    (outcome(503, retry_after=5), "unavailable", 5),
    (outcome(409), "conflict", None),
    (outcome(400), "bad_request", None),
    (outcome(413), "bad_request", None),
    (outcome(500), "server_error", None),
    (outcome(502), "server_error", None),
    (outcome(418), "unexpected", None),
    (outcome(kind="connection"), "unreachable", None),
    (outcome(kind="timeout"), "timeout", None),
    (outcome(kind="tls"), "tls", None),
    (outcome(kind="OSError"), "unreachable", None),
]


class LoginAnswerTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.en = i18n.translation("en")
        locale = self.useFixture(fixtures.TempDir()).path
        self.zh = i18n.translation(
            "zh", tc_fixture.compile_catalogues(locale))

    def test_every_answer(self):
        for result, key, retry_after in CASES:
            answer = answers.login_answer(result, seat="SH-2F-001")
            self.assertEqual((key, retry_after),
                             (answer.key, answer.retry_after),
                             "status %s kind %s" % (result.status,
                                                    result.kind))
            self.assertEqual(result.status, answer.http_status)
            english = answer.text(self.en)
            chinese = answer.text(self.zh)
            self.assertTrue(english)
            self.assertNotEqual(english, chinese, key)
            self.assertNotIn("{", english + chinese)

    def test_countdowns(self):
        answer = answers.login_answer(CASES[1][0])
        self.assertEqual("Too many failed logins. Try again in 60 s.",
                         answer.text(self.en))
        self.assertEqual("Too many failed logins. Try again in 7 s.",
                         answer.text(self.en, remaining=7))
        self.assertEqual("登录失败次数过多。请在 7 秒后重试。",
                         answer.text(self.zh, remaining=7))

    def test_pool_busy_says_what_the_pool_does(self):
        answer = answers.login_answer(CASES[4][0])
        self.assertEqual("No desktop is free right now (0 ready, 2 "
                         "starting). Try again in 15 s.",
                         answer.text(self.en))

    def test_seat_is_named(self):
        answer = answers.login_answer(outcome(404), seat="SH-9F-999")
        self.assertIn("SH-9F-999", answer.text(self.en))
        self.assertIn("SH-9F-999", answer.text(self.zh))

    def test_a_503_without_retry_after(self):
        answer = answers.login_answer(outcome(503))
        self.assertIsNone(answer.retry_after)
        self.assertIn("Try again in ? s", answer.text(self.en))

    def test_every_message_has_a_level(self):
        for key in answers.MESSAGES:
            self.assertIn(answers.Answer(key).level,
                          (answers.ERROR, answers.WARNING, answers.INFO))
