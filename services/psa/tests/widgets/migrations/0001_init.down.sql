drop table if exists widgets.widgets;
