-- migrate:up
create table currencies (
  code char(3) primary key
);
