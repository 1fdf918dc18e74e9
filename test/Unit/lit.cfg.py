# lit configuration that runs every GoogleTest binary named *Tests under build/unittests.
import os

import lit.formats

config.name = "qnt-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.qnt_obj_root, "unittests")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
