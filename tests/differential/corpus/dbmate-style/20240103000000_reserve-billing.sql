-- migrate:up
-- Reserved: the billing tables were created by hand in production during the 2024-01
-- incident (see the runbook; ticket OPS-1234). Nothing to do here; keep this file so that
-- the version stays taken and everyone's history matches.

-- migrate:down
