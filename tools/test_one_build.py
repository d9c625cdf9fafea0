"""tools/one_build.py's comparison: a crate both builds use, built as other files (another
hash: other features, profile or flags), is named; one built alike, or only by the tests, is
not. `make test` runs it (`python3 -m unittest tools/test_one_build.py`)."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from one_build import differences  # noqa: E402

TOKIO = ("tokio@1.54.1", "tokio", ("lib",))
PROPTEST = ("proptest@1.12.0", "proptest", ("lib",))


def unit(hash_: str, *features: str):
    return {((f"libtokio-{hash_}.rlib", f"libtokio-{hash_}.rmeta"), features)}


class Differences(unittest.TestCase):
    def test_a_crate_built_alike_by_both_is_no_difference(self):
        self.assertEqual(differences({TOKIO: unit("a1", "rt")}, {TOKIO: unit("a1", "rt"), PROPTEST: unit("p", "std")}), [])

    def test_a_crate_the_tests_build_again_is_named_with_its_features(self):
        found = differences({TOKIO: unit("a1", "rt")}, {TOKIO: unit("b2", "rt", "net")})
        self.assertEqual(len(found), 1)
        self.assertIn("tokio@1.54.1", found[0])
        self.assertIn("net", found[0])

    def test_same_features_but_other_files_is_a_difference(self):
        # A profile or flag of the tests' own (a [profile.test], say) builds the crate again.
        self.assertEqual(len(differences({TOKIO: unit("a1", "rt")}, {TOKIO: unit("c3", "rt")})), 1)


if __name__ == "__main__":
    unittest.main()
