"""The DMZ gateway: circuits leave the company only through a service that authenticates each
caller, decides by Cedar policy, anonymizes the program, audits the decision and forwards the task
to Amazon Braket with its own credentials (``python -m gateway serve --env ENV --config FILE``)."""
