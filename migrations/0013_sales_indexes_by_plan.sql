-- salesflow schema, version 13: the indexes of raw.sales, each for a plan that uses it.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- Every index on raw.sales is built once per month on a first load and maintained row by row
-- on every incremental one. Two btrees earned neither:
-- - retailer_id: no plan of the dbt project uses it, also where most retailers are followed
--   day by day (scd2_evidence). A retailer sells every day, so its rows lie on most pages of
--   a month: a scan of a month (or of the rows after a load, through the BRIN on load_id)
--   reads no more than the index would send it to.
-- - product_id: its one use is dim_product's probe for the sales whose product id is missing
--   (to be repaired from the name), `product_id is null`. A partial index holds just those
--   rows and serves that probe alone.
-- The primary key (the merge's delete of an updated sale's old version) and the BRIN on
-- load_id (every dbt build's window of new loads) stay. bench/README.md has the plans.
drop index raw.sales_retailer_id_idx;
drop index raw.sales_product_id_idx;
create index sales_product_id_missing_idx on raw.sales (product_id) where product_id is null;
