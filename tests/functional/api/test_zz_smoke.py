from tests import base
from tests.fixtures import broker as bf

class T(base.TestCase):
    def test_smoke(self):
        b = self.useFixture(bf.Broker(self.conf))
        b.setup_call_centre()
        print(b.fill_pools())
        r = b.login("amy")
        print(r.status, r.headers, r.json)
        r2 = b.app.get("/nope", status="*"); print(r2.status, r2.headers, r2.body)
        r2 = b.app.put("/v1/pools", status="*"); print(r2.status, r2.headers, r2.body)
        r2 = b.app.post("/v1/client/sessions", "x"*200000, status="*"); print(r2.status, r2.headers, r2.body)
