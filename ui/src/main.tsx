// The dashboard page's entry: one Store, one stream, one App.
import { render } from 'preact';
import { App } from './app.tsx';
import { Store } from './store.ts';
import './styles.css';

const store = new Store();
store.connect();
render(<App store={store} />, document.getElementById('app')!);
