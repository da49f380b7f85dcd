{#- HA wrapper for nova: see openstack/wrapper.jinja and docs/service-provider.md. #}
{%- from 'openstack/wrapper.jinja' import ha_wrap %}
{{ ha_wrap('nova') }}
