// pages/index.js — the dashboard's pages, in the navigation's order. Each page module is
// {id, title, roles, view}: the shell shows a page only to the roles it lists (the API checks
// again on every call). One import and one entry per page.
import events from './events.js';
import gpu from './gpu.js';
import migchanges from './migchanges.js';
import org from './org.js';
import pool from './pool.js';
import request from './request.js';
import requests from './requests.js';
import reservations from './reservations.js';

export default [pool, request, requests, reservations, gpu, migchanges, org, events];
