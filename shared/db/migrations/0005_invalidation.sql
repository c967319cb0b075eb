-- Gateways cache who a token is and where a cluster may be tunnelled to (opening a tunnel is on
-- people's critical path). Any change to those rows, by any replica or by hand, tells every
-- gateway to forget what it cached.

create function commander_notify_invalidate() returns trigger language plpgsql as $$
begin
  perform pg_notify('commander_invalidate', tg_table_name || ':' || old.id::text);
  return null;
end $$;

create trigger api_tokens_invalidate after update of revoked_at, role, workspace_id, token_hash or delete
  on api_tokens for each row execute function commander_notify_invalidate();
create trigger workspaces_invalidate after update or delete
  on workspaces for each row execute function commander_notify_invalidate();
create trigger clusters_invalidate after update of workspace_id, allowed_targets, archived_at or delete
  on clusters for each row execute function commander_notify_invalidate();
