{#-
    The latest loaded copy of each Instacart order line in `relation` (its columns: the staging lines'), whole:
    a `row_number()` window by line, newest load first. On a relation read in (order_id, product_id) order (a
    raw lines table, with int_grocery__order_lines' query_settings) it holds one line's copies at a time.
-#}
{% macro latest_copy_of_each_line(relation) -%}
    select
        order_id,
        product_id,
        add_to_cart_order,
        reordered,
        line_set,
        loaded_at
    from (
        select
            *,
            row_number() over (partition by order_id, product_id order by loaded_at desc) as copy_rank
        from {{ relation }}
    ) as copies
    where copy_rank = 1
{%- endmacro %}
