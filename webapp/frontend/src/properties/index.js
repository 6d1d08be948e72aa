import CapexitPropertiesProvider from './CapexitPropertiesProvider';

export default {
  __init__: ['capexitPropertiesProvider'],
  capexitPropertiesProvider: ['type', CapexitPropertiesProvider]
};
