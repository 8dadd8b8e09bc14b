-- Which roster each runner runs: a fingerprint of its bots.yaml's bots and chats
-- (piyasa_bot/fleet/assignment.py). Runners share out only the keys of the roster they agree on;
-- a runner on another bots.yaml (halfway through a rolling change, or a mistake) is told apart
-- instead of being handed keys it does not have, and `status` shows the disagreement.
-- '' until a runner's first heartbeat after this migration.
ALTER TABLE runners ADD COLUMN roster text NOT NULL DEFAULT '';
