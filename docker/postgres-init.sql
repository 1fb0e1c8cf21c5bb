-- The shop application database that the shop pipeline reads (PostgreSQL in server mode).
CREATE USER shop WITH PASSWORD 'shop';
CREATE DATABASE shop OWNER shop;
-- Superset's metadata database.
CREATE USER superset WITH PASSWORD 'superset';
CREATE DATABASE superset OWNER superset;
