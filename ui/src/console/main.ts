import { mount } from "svelte";
import "../app.css";
import "./console.css";
import Console from "./Console.svelte";
import { localeTag } from "../lib/i18n/index.svelte";

document.documentElement.lang = localeTag();
mount(Console, { target: document.getElementById("console")! });
