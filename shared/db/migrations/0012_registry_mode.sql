-- How a cluster reaches its container registry, as Commander names it ("Direct", "Unmanaged", …).
-- Commander's Go client sends it back on every whole-object PUT.
alter table clusters add column registry_mode text not null default 'Direct'
  check (registry_mode ~ '^[A-Za-z]{1,32}$');
