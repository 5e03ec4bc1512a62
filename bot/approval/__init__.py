"""The second-approval rule: announcing a deploy and collecting approvals."""
