"""The public catalogue: approved listings only, server-rendered."""
