-- The shop application database that the shop pipeline reads (PostgreSQL in server mode).
CREATE USER shop WITH PASSWORD 'shop';
CREATE DATABASE shop OWNER shop;
