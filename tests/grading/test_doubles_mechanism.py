"""The test-double mechanism itself (autograder/engine/inside/doubles.py), on throwaway modules."""
import types

from autograder.engine.inside import doubles


def _modules():
    attention = types.ModuleType("attention")
    exec("def mhsa(x):\n    return 'real'\nclass Attention:\n    def forward(self):\n        return 'real'\n",
         attention.__dict__)
    blocks = types.ModuleType("blocks")
    blocks.mhsa = attention.mhsa            # from attention import mhsa
    return attention, blocks


def test_install_rebind_and_uninstall():
    attention, blocks = _modules()
    table = {"attention:mhsa": lambda x: "double", "attention:Attention.forward": lambda self: "double"}
    owners = {"attention": {"mhsa": "2.3", "Attention.forward": "2.3"}, "blocks": {"block": "2.4"}}
    pairs = doubles.pairs_for(owners, "2.4", set(), table)
    assert pairs == [("attention", "Attention.forward"), ("attention", "mhsa")]
    assert doubles.pairs_for(owners, "2.3", set(), table) == []          # a task's own code stays
    assert doubles.pairs_for(owners, "2.4", {"attention"}, table) == []  # given code is not doubled
    undo = doubles.install({"attention": attention}, pairs, table)
    undo += doubles.rebind([blocks], undo)
    assert attention.mhsa(0) == blocks.mhsa(0) == attention.Attention().forward() == "double"
    doubles.uninstall(undo)
    assert attention.mhsa(0) == blocks.mhsa(0) == attention.Attention().forward() == "real"


def test_an_emptied_table_installs_nothing():
    attention, _ = _modules()
    assert doubles.install({"attention": attention}, [("attention", "mhsa")], {}) == []
    assert attention.mhsa(0) == "real"
