-- A catalog's name, like a cluster's, template's or registry's, is unique among the workspace's
-- live catalogs. Live catalogs that share a name now are told apart by their (unique) slug.
update catalogs c set name = c.name || ' (' || c.slug || ')'
where c.archived_at is null and exists (
  select 1 from catalogs o
  where o.workspace_id = c.workspace_id and o.name = c.name and o.archived_at is null and o.id <> c.id);
create unique index catalogs_name on catalogs (workspace_id, name) where archived_at is null;
