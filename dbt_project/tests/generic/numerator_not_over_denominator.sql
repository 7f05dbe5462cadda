{% test numerator_not_over_denominator(model, numerator='numerator', denominator='denominator') %}
select * from {{ model }} where {{ numerator }} > {{ denominator }}
{% endtest %}
