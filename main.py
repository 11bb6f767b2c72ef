#!/usr/bin/env python
"""Synthesize the bootstrap stack and every environment's stack to cdktf.out/stacks/<name>/cdk.tf.json.

Run by `cdktf synth` / `cdktf deploy <env>` (see cdktf.json) or directly with
`pipenv run python main.py`. Pure: no AWS call, no clock.
"""

import quantum_constructs  # noqa: F401  first: silences jsii's Node 20 banner before cdktf starts
from quantum_constructs.cdk import App

from stacks import add_stacks


def main() -> None:
    app = App()
    add_stacks(app)
    app.synth()


if __name__ == "__main__":
    main()
