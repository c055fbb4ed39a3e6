"""The OPRF primitives against RFC 9497's vectors, byte for byte."""

import json

import pytest

from conftest import VECTORS
from veil import Err, VeilError, oprf

with open(VECTORS) as f:
    SUITES = [s for s in json.load(f) if s["mode"] == 0]
CASES = [(s, i) for s in SUITES for i, v in enumerate(s["vectors"]) if v["Batch"] == 1]
h = bytes.fromhex


def test_every_served_suite_and_only_those():
    for s in SUITES:
        if s["identifier"] in oprf.SUITES:
            assert oprf.sizes(s["identifier"]).scalar == len(h(s["skSm"]))
        else:
            with pytest.raises(VeilError) as e:
                oprf.sizes(s["identifier"])
            assert e.value.code == Err.UNSUPPORTED
    assert {s["identifier"] for s in SUITES} >= set(oprf.SUITES)


@pytest.mark.parametrize("suite", [s for s in SUITES if s["identifier"] in oprf.SUITES],
                         ids=lambda s: s["identifier"])
def test_derive_key_pair(suite):
    sk = oprf.derive_key(suite["identifier"], h(suite["seed"]), h(suite["keyInfo"]))
    assert sk.hex() == suite["skSm"]


@pytest.mark.parametrize("suite,i", [c for c in CASES if c[0]["identifier"] in oprf.SUITES],
                         ids=lambda c: c["identifier"] if isinstance(c, dict) else str(c))
def test_known_answers(suite, i):
    name, v, sk = suite["identifier"], suite["vectors"][i], h(suite["skSm"])
    blind, blinded = oprf.blind(name, h(v["Input"]), blind=h(v["Blind"]))
    assert blind.hex() == v["Blind"]
    assert blinded.hex() == v["BlindedElement"]
    evaluated = oprf.blind_evaluate(name, sk, blinded)
    assert evaluated.hex() == v["EvaluationElement"]
    assert oprf.finalize(name, h(v["Input"]), blind, blinded, evaluated).hex() == v["Output"]
    assert oprf.evaluate(name, sk, h(v["Input"])).hex() == v["Output"]


@pytest.mark.parametrize("name", oprf.SUITES)
def test_random_blind_round_trip(name):
    sk = oprf.derive_key(name, b"\x07" * 32)
    b1, blinded1 = oprf.blind(name, b"tel:+14155550100")
    b2, blinded2 = oprf.blind(name, b"tel:+14155550100")
    assert b1 != b2 and blinded1 != blinded2
    for b, blinded in ((b1, blinded1), (b2, blinded2)):
        out = oprf.finalize(name, b"tel:+14155550100", b, blinded,
                            oprf.blind_evaluate(name, sk, blinded))
        assert out == oprf.evaluate(name, sk, b"tel:+14155550100")


def test_errors():
    name = "P256-SHA256"
    sk = oprf.derive_key(name, b"\x07" * 32)
    _, blinded = oprf.blind(name, b"x")
    cases = [
        (Err.UNSUPPORTED, lambda: oprf.evaluate(name, sk, b"x", mode="voprf")),
        (Err.UNSUPPORTED, lambda: oprf.blind("P256-sha256", b"x")),
        (Err.ARGUMENT, lambda: oprf.evaluate(name, sk[:-1], b"x")),
        (Err.SCALAR, lambda: oprf.evaluate(name, b"\0" * 32, b"x")),
        (Err.SCALAR, lambda: oprf.blind(name, b"x", blind=b"\xff" * 32)),
        (Err.ELEMENT, lambda: oprf.blind_evaluate(name, sk, b"\x05" + blinded[1:])),
        (Err.LIMIT, lambda: oprf.blind(name, b"x" * 65536)),
    ]
    for code, call in cases:
        with pytest.raises(VeilError) as e:
            call()
        assert e.value.code == code, e.value
        assert str(e.value)
