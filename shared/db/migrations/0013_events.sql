-- Live updates for the web application: a change to a cluster (status, agent, telemetry), a task
-- (status, log), a change request, a record or an agent tells every gateway which row changed and
-- in which workspace, so any replica can push it to the browsers of that workspace. Only ids
-- travel (a notification holds at most 8000 bytes); browsers fetch what they show through the API.

create function commander_notify_event(workspace uuid, kind text, id uuid, cluster uuid) returns void
language sql as $$
  select pg_notify('commander_events', json_build_object('w', workspace, 't', kind, 'id', id, 'c', cluster)::text)
$$;

create function commander_cluster_event() returns trigger language plpgsql as $$
declare
  row clusters;
begin
  row := coalesce(new, old);
  perform commander_notify_event(row.workspace_id, 'cluster', row.id, row.id);
  return null;
end $$;

create function commander_cluster_child_event() returns trigger language plpgsql as $$
declare
  cluster uuid;
  workspace uuid;
begin
  if tg_op = 'DELETE' then
    cluster := old.cluster_id;
  else
    cluster := new.cluster_id;
  end if;
  select c.workspace_id into workspace from clusters c where c.id = cluster;
  if workspace is not null then
    perform commander_notify_event(workspace, tg_argv[0], coalesce(new.id, old.id), cluster);
  end if;
  return null;
end $$;

create function commander_record_event() returns trigger language plpgsql as $$
declare
  row records;
begin
  row := coalesce(new, old);
  perform commander_notify_event(row.workspace_id, 'record', row.id, row.cluster_id);
  return null;
end $$;

create function commander_agent_event() returns trigger language plpgsql as $$
declare
  cluster uuid := coalesce(new.cluster_id, old.cluster_id);
  workspace uuid;
begin
  select c.workspace_id into workspace from clusters c where c.id = cluster;
  if workspace is not null then
    perform commander_notify_event(workspace, 'cluster', cluster, cluster);
  end if;
  return null;
end $$;

create trigger clusters_event after insert or update or delete
  on clusters for each row execute function commander_cluster_event();
create trigger tasks_event after insert or update or delete
  on tasks for each row execute function commander_cluster_child_event('task');
create trigger cluster_change_requests_event after insert or update or delete
  on cluster_change_requests for each row execute function commander_cluster_child_event('change_request');
create trigger records_event after insert or update or delete
  on records for each row execute function commander_record_event();
create trigger agents_event after insert or update or delete
  on agents for each row execute function commander_agent_event();
