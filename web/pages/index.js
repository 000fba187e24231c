// pages/index.js — the dashboard's pages, in the navigation's order. Each page module is
// {id, title, roles, view}: the shell shows a page only to the roles it lists (the API checks
// again on every call). One import and one entry per page.
import events from './events.js';
import requests from './requests.js';
import org from './org.js';

export default [requests, org, events];
